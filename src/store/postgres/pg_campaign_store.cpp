#include "store/postgres/pg_campaign_store.hpp"

#include <utility>

#include "store/postgres/pg_outbox.hpp"

namespace herald::store::postgres {
namespace {

constexpr const char* kContactColumns =
    "id, owner_id, phone, email, telegram_chat_id, first_name, last_name, location, preferred_product, attributes, "
    "created_at, updated_at";
constexpr const char* kTemplateColumns =
    "id, owner_id, name, channel, subject, html, text, variables, created_at, updated_at";
constexpr const char* kCampaignColumns =
    "id, owner_id, name, channel, status, base_template, template_id, subject, scheduled_at, created_at, updated_at";

std::optional<std::string> OptionalText(const PgResult& rows, int row, int column) {
  if (rows.IsNull(row, column)) return std::nullopt;
  return rows.Text(row, column);
}

ContactRecord ReadContact(const PgResult& rows, int row) {
  ContactRecord c;
  c.id = rows.Int(row, 0);
  c.owner_id = rows.Int(row, 1);
  c.phone = OptionalText(rows, row, 2);
  c.email = OptionalText(rows, row, 3);
  c.telegram_chat_id = OptionalText(rows, row, 4);
  c.first_name = OptionalText(rows, row, 5);
  c.last_name = OptionalText(rows, row, 6);
  c.location = OptionalText(rows, row, 7);
  c.preferred_product = OptionalText(rows, row, 8);
  c.attributes_json = rows.Text(row, 9);
  c.created_at_ms = rows.Int(row, 10);
  c.updated_at_ms = rows.Int(row, 11);
  return c;
}

TemplateRecord ReadTemplate(const PgResult& rows, int row) {
  TemplateRecord t;
  t.id = rows.Int(row, 0);
  t.owner_id = rows.Int(row, 1);
  t.name = rows.Text(row, 2);
  t.channel = OptionalText(rows, row, 3);
  t.subject = rows.Text(row, 4);
  t.html = rows.Text(row, 5);
  t.text = rows.Text(row, 6);
  t.variables = SplitVariableNames(rows.Text(row, 7));
  t.created_at_ms = rows.Int(row, 8);
  t.updated_at_ms = rows.Int(row, 9);
  return t;
}

CampaignRecord ReadCampaign(const PgResult& rows, int row) {
  CampaignRecord c;
  c.id = rows.Int(row, 0);
  c.owner_id = rows.Int(row, 1);
  c.name = rows.Text(row, 2);
  c.channel = rows.Text(row, 3);
  c.status = rows.Text(row, 4);
  c.base_template = rows.Text(row, 5);
  if (!rows.IsNull(row, 6)) c.template_id = rows.Int(row, 6);
  c.subject = rows.Text(row, 7);
  if (!rows.IsNull(row, 8)) c.scheduled_at_ms = rows.Int(row, 8);
  c.created_at_ms = rows.Int(row, 9);
  c.updated_at_ms = rows.Int(row, 10);
  return c;
}

// One page of `table`, newest first, cut from the as-of snapshot; `extra`
// holds more conditions as (SQL before the parameter, value) pairs.
template <typename Row, typename Read>
Page<Row> ListPage(PgConnection& db, const char* table, const char* columns, const PageQuery& query,
                   const std::vector<std::pair<std::string, std::string>>& extra, Read read) {
  PgTransaction tx(db);
  db.Exec("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  Page<Row> page;
  page.as_of_id = query.as_of_id.value_or(db.Exec(std::string("SELECT COALESCE(MAX(id), 0) FROM ") + table).Int(0, 0));
  std::vector<PgParam> params = {Param(page.as_of_id)};
  const auto next = [&params](PgParam value) {
    params.push_back(std::move(value));
    return "$" + std::to_string(params.size());
  };
  std::string where = " WHERE id <= $1";
  if (query.owner_id) where += " AND owner_id = " + next(Param(*query.owner_id));
  for (const auto& [condition, value] : extra) where += condition + next(Param(value));
  page.total_count = db.Exec(std::string("SELECT COUNT(*) FROM ") + table + where, params).Int(0, 0);
  const auto limit = next(Param(query.page_size));
  const auto offset = next(Param(static_cast<std::int64_t>(query.page - 1) * query.page_size));
  const auto rows = db.Exec(std::string("SELECT ") + columns + " FROM " + table + where + " ORDER BY id DESC LIMIT " +
                                limit + " OFFSET " + offset,
                            params);
  for (int i = 0; i < rows.Rows(); ++i) page.rows.push_back(read(rows, i));
  tx.Commit();
  return page;
}

}  // namespace

std::vector<ContactRecord> PgCampaignStore::CreateContacts(std::vector<ContactRecord> contacts, std::int64_t now_ms) {
  auto db = pool_.Acquire();
  PgTransaction tx(*db);
  for (auto& c : contacts) {
    const auto row = db->Exec(
        "INSERT INTO contacts (owner_id, phone, email, telegram_chat_id, first_name, last_name, location, "
        "preferred_product, attributes, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) "
        "RETURNING id",
        {Param(c.owner_id), Param(c.phone), Param(c.email), Param(c.telegram_chat_id), Param(c.first_name),
         Param(c.last_name), Param(c.location), Param(c.preferred_product), Param(c.attributes_json), Param(now_ms)});
    c.id = row.Int(0, 0);
    c.created_at_ms = now_ms;
    c.updated_at_ms = now_ms;
  }
  tx.Commit();
  return contacts;
}

std::optional<ContactRecord> PgCampaignStore::GetContact(std::int64_t id) {
  auto db = pool_.Acquire();
  const auto rows = db->Exec("SELECT " + std::string(kContactColumns) + " FROM contacts WHERE id = $1", {Param(id)});
  if (rows.Rows() == 0) return std::nullopt;
  return ReadContact(rows, 0);
}

Page<ContactRecord> PgCampaignStore::ListContacts(const PageQuery& query) {
  auto db = pool_.Acquire();
  return ListPage<ContactRecord>(*db, "contacts", kContactColumns, query, {}, ReadContact);
}

bool PgCampaignStore::UpdateContact(const ContactRecord& c, std::int64_t now_ms) {
  auto db = pool_.Acquire();
  return db->Exec(
               "UPDATE contacts SET phone = $2, email = $3, telegram_chat_id = $4, first_name = $5, last_name = $6, "
               "location = $7, preferred_product = $8, attributes = $9, updated_at = $10 WHERE id = $1",
               {Param(c.id), Param(c.phone), Param(c.email), Param(c.telegram_chat_id), Param(c.first_name),
                Param(c.last_name), Param(c.location), Param(c.preferred_product), Param(c.attributes_json),
                Param(now_ms)})
             .Affected() > 0;
}

bool PgCampaignStore::DeleteContact(std::int64_t id) {
  auto db = pool_.Acquire();
  return db->Exec("DELETE FROM contacts WHERE id = $1", {Param(id)}).Affected() > 0;
}

std::vector<ContactRecord> PgCampaignStore::ContactsOf(std::int64_t owner_id, const std::vector<std::int64_t>& ids) {
  auto db = pool_.Acquire();
  const auto rows = db->Exec("SELECT " + std::string(kContactColumns) +
                                 " FROM contacts WHERE id = ANY($1::bigint[]) AND owner_id = $2 ORDER BY id",
                             {Param(ids), Param(owner_id)});
  std::vector<ContactRecord> out;
  for (int i = 0; i < rows.Rows(); ++i) out.push_back(ReadContact(rows, i));
  return out;
}

std::vector<ContactRecord> PgCampaignStore::ContactsAfter(std::int64_t owner_id, std::int64_t after_id, int limit) {
  auto db = pool_.Acquire();
  const auto rows = db->Exec("SELECT " + std::string(kContactColumns) +
                                 " FROM contacts WHERE owner_id = $1 AND id > $2 ORDER BY id LIMIT $3",
                             {Param(owner_id), Param(after_id), Param(limit)});
  std::vector<ContactRecord> out;
  for (int i = 0; i < rows.Rows(); ++i) out.push_back(ReadContact(rows, i));
  return out;
}

TemplateRecord PgCampaignStore::CreateTemplate(TemplateRecord t, std::int64_t now_ms) {
  auto db = pool_.Acquire();
  const auto row = db->Exec(
      "INSERT INTO templates (owner_id, name, channel, subject, html, text, variables, created_at, updated_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
      {Param(t.owner_id), Param(t.name), Param(t.channel), Param(t.subject), Param(t.html), Param(t.text),
       Param(JoinVariableNames(t.variables)), Param(now_ms)});
  t.id = row.Int(0, 0);
  t.created_at_ms = now_ms;
  t.updated_at_ms = now_ms;
  return t;
}

std::optional<TemplateRecord> PgCampaignStore::GetTemplate(std::int64_t id) {
  auto db = pool_.Acquire();
  const auto rows = db->Exec("SELECT " + std::string(kTemplateColumns) + " FROM templates WHERE id = $1", {Param(id)});
  if (rows.Rows() == 0) return std::nullopt;
  return ReadTemplate(rows, 0);
}

Page<TemplateRecord> PgCampaignStore::ListTemplates(const PageQuery& query) {
  auto db = pool_.Acquire();
  return ListPage<TemplateRecord>(*db, "templates", kTemplateColumns, query, {}, ReadTemplate);
}

bool PgCampaignStore::UpdateTemplate(const TemplateRecord& t, std::int64_t now_ms) {
  auto db = pool_.Acquire();
  return db->Exec(
               "UPDATE templates SET name = $2, channel = $3, subject = $4, html = $5, text = $6, variables = $7, "
               "updated_at = $8 WHERE id = $1",
               {Param(t.id), Param(t.name), Param(t.channel), Param(t.subject), Param(t.html), Param(t.text),
                Param(JoinVariableNames(t.variables)), Param(now_ms)})
             .Affected() > 0;
}

bool PgCampaignStore::DeleteTemplate(std::int64_t id) {
  auto db = pool_.Acquire();
  return db->Exec("DELETE FROM templates WHERE id = $1", {Param(id)}).Affected() > 0;
}

CampaignRecord PgCampaignStore::CreateCampaign(CampaignRecord c, std::int64_t now_ms) {
  auto db = pool_.Acquire();
  const auto row = db->Exec(
      "INSERT INTO campaigns (owner_id, name, channel, status, base_template, template_id, subject, scheduled_at, "
      "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
      {Param(c.owner_id), Param(c.name), Param(c.channel), Param(c.status), Param(c.base_template),
       Param(c.template_id), Param(c.subject), Param(c.scheduled_at_ms), Param(now_ms)});
  c.id = row.Int(0, 0);
  c.created_at_ms = now_ms;
  c.updated_at_ms = now_ms;
  return c;
}

std::optional<CampaignRecord> PgCampaignStore::GetCampaign(std::int64_t id) {
  auto db = pool_.Acquire();
  const auto rows = db->Exec("SELECT " + std::string(kCampaignColumns) + " FROM campaigns WHERE id = $1", {Param(id)});
  if (rows.Rows() == 0) return std::nullopt;
  return ReadCampaign(rows, 0);
}

Page<CampaignRecord> PgCampaignStore::ListCampaigns(const PageQuery& query, const CampaignFilter& filter) {
  std::vector<std::pair<std::string, std::string>> extra;
  if (!filter.channel.empty()) extra.emplace_back(" AND channel = ", filter.channel);
  if (!filter.status.empty()) extra.emplace_back(" AND status = ", filter.status);
  auto db = pool_.Acquire();
  return ListPage<CampaignRecord>(*db, "campaigns", kCampaignColumns, query, extra, ReadCampaign);
}

bool PgCampaignStore::SetCampaignStatus(std::int64_t id, const std::vector<std::string>& from,
                                        const std::string& status, std::int64_t now_ms) {
  auto db = pool_.Acquire();
  return db->Exec("UPDATE campaigns SET status = $2, updated_at = $3 WHERE id = $1 AND status = ANY($4::text[])",
                  {Param(id), Param(status), Param(now_ms), Param(from)})
             .Affected() > 0;
}

void PgCampaignStore::LinkMessages(std::int64_t campaign_id, const std::vector<CampaignMessageLink>& links) {
  if (links.empty()) return;
  std::vector<std::int64_t> contacts;
  std::vector<std::int64_t> messages;
  for (const auto& link : links) {
    contacts.push_back(link.contact_id);
    messages.push_back(link.message_id);
  }
  auto db = pool_.Acquire();
  db->Exec(
      "INSERT INTO campaign_messages (campaign_id, contact_id, message_id) "
      "SELECT $1, contact_id, message_id FROM unnest($2::bigint[], $3::bigint[]) AS link (contact_id, message_id) "
      "ON CONFLICT DO NOTHING",
      {Param(campaign_id), Param(contacts), Param(messages)});
}

std::int64_t PgCampaignStore::RetryCampaign(std::int64_t campaign_id, const std::vector<std::string>& statuses,
                                            std::int64_t now_ms) {
  auto db = pool_.Acquire();
  PgTransaction tx(*db);
  std::int64_t requeued = 0;
  for (const auto& status : statuses) {
    requeued +=
        db->Exec(RequeueStatement(
                     "UPDATE message_recipients SET status = 'queued', attempts = 0, due_at = $1, "
                     "updated_at = $1, last_error = 'retry requested after: ' || last_error WHERE status = $3 AND "
                     "message_id IN (SELECT message_id FROM campaign_messages WHERE campaign_id = $2)",
                     relay_outbox_),
                 {Param(now_ms), Param(campaign_id), Param(status)})
            .Int(0, 0);
  }
  if (requeued > 0) {
    db->Exec("UPDATE campaigns SET status = 'sending', updated_at = $1 WHERE id = $2 AND status IN ('sent', 'failed')",
             {Param(now_ms), Param(campaign_id)});
  }
  tx.Commit();
  return requeued;
}

std::int64_t PgCampaignStore::Settle(std::int64_t now_ms) {
  auto db = pool_.Acquire();
  PgTransaction tx(*db);
  std::int64_t changed =
      db->Exec(
            "UPDATE campaigns SET status = 'sending', updated_at = $1 WHERE status = 'scheduled' AND scheduled_at <= $1 "
            "AND EXISTS (SELECT 1 FROM campaign_messages cm WHERE cm.campaign_id = campaigns.id)",
            {Param(now_ms)})
          .Affected();
  changed +=
      db->Exec(
            "UPDATE campaigns SET updated_at = $1, status = CASE WHEN EXISTS (SELECT 1 FROM campaign_messages cm "
            "JOIN message_recipients r ON r.message_id = cm.message_id WHERE cm.campaign_id = campaigns.id "
            "AND r.status = 'sent') THEN 'sent' ELSE 'failed' END "
            "WHERE status = 'sending' AND EXISTS (SELECT 1 FROM campaign_messages cm "
            "WHERE cm.campaign_id = campaigns.id) "
            // One test per open state, each matching its partial index on message_recipients.
            "AND NOT EXISTS (SELECT 1 FROM message_recipients r JOIN campaign_messages cm "
            "ON cm.message_id = r.message_id AND cm.campaign_id = campaigns.id WHERE r.status = 'queued') "
            "AND NOT EXISTS (SELECT 1 FROM message_recipients r JOIN campaign_messages cm "
            "ON cm.message_id = r.message_id AND cm.campaign_id = campaigns.id WHERE r.status = 'sending')",
            {Param(now_ms)})
          .Affected();
  tx.Commit();
  return changed;
}

CampaignStats PgCampaignStore::Stats(std::int64_t campaign_id) {
  auto db = pool_.Acquire();
  const auto rows = db->Exec(
      "SELECT r.status, COUNT(*) FROM campaign_messages cm JOIN message_recipients r ON r.message_id = cm.message_id "
      "WHERE cm.campaign_id = $1 GROUP BY r.status",
      {Param(campaign_id)});
  CampaignStats stats;
  for (int i = 0; i < rows.Rows(); ++i) stats.Add(rows.Text(i, 0), rows.Int(i, 1));
  const auto tracked = db->Exec(
      "SELECT e.kind, COUNT(DISTINCT e.recipient_id) FROM campaign_messages cm "
      "JOIN message_recipients r ON r.message_id = cm.message_id JOIN provider_events e ON e.recipient_id = r.id "
      "WHERE cm.campaign_id = $1 GROUP BY e.kind",
      {Param(campaign_id)});
  for (int i = 0; i < tracked.Rows(); ++i) stats.AddTracked(tracked.Text(i, 0), tracked.Int(i, 1));
  return stats;
}

}  // namespace herald::store::postgres
