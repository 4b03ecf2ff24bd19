#include "store/sqlite/sqlite_campaign_store.hpp"

#include <algorithm>

#include <utility>

namespace herald::store::sqlite {
namespace {

constexpr const char* kContactColumns =
    "id, owner_id, phone, email, telegram_chat_id, first_name, last_name, location, preferred_product, attributes, "
    "created_at, updated_at";
constexpr const char* kTemplateColumns =
    "id, owner_id, name, channel, subject, html, text, variables, created_at, updated_at";
constexpr const char* kCampaignColumns =
    "id, owner_id, name, channel, status, base_template, template_id, subject, scheduled_at, created_at, updated_at";

std::optional<std::string> OptionalText(Statement& row, int column) {
  if (row.ColumnIsNull(column)) return std::nullopt;
  return row.ColumnText(column);
}

void BindOptional(Statement& s, int index, const std::optional<std::string>& value) {
  if (value) {
    s.Bind(index, *value);
  } else {
    s.BindNull(index);
  }
}

void BindOptional(Statement& s, int index, const std::optional<std::int64_t>& value) {
  if (value) {
    s.Bind(index, *value);
  } else {
    s.BindNull(index);
  }
}

ContactRecord ReadContact(Statement& row) {
  ContactRecord c;
  c.id = row.ColumnInt(0);
  c.owner_id = row.ColumnInt(1);
  c.phone = OptionalText(row, 2);
  c.email = OptionalText(row, 3);
  c.telegram_chat_id = OptionalText(row, 4);
  c.first_name = OptionalText(row, 5);
  c.last_name = OptionalText(row, 6);
  c.location = OptionalText(row, 7);
  c.preferred_product = OptionalText(row, 8);
  c.attributes_json = row.ColumnText(9);
  c.created_at_ms = row.ColumnInt(10);
  c.updated_at_ms = row.ColumnInt(11);
  return c;
}

TemplateRecord ReadTemplate(Statement& row) {
  TemplateRecord t;
  t.id = row.ColumnInt(0);
  t.owner_id = row.ColumnInt(1);
  t.name = row.ColumnText(2);
  t.channel = OptionalText(row, 3);
  t.subject = row.ColumnText(4);
  t.html = row.ColumnText(5);
  t.text = row.ColumnText(6);
  t.variables = SplitVariableNames(row.ColumnText(7));
  t.created_at_ms = row.ColumnInt(8);
  t.updated_at_ms = row.ColumnInt(9);
  return t;
}

CampaignRecord ReadCampaign(Statement& row) {
  CampaignRecord c;
  c.id = row.ColumnInt(0);
  c.owner_id = row.ColumnInt(1);
  c.name = row.ColumnText(2);
  c.channel = row.ColumnText(3);
  c.status = row.ColumnText(4);
  c.base_template = row.ColumnText(5);
  if (!row.ColumnIsNull(6)) c.template_id = row.ColumnInt(6);
  c.subject = row.ColumnText(7);
  if (!row.ColumnIsNull(8)) c.scheduled_at_ms = row.ColumnInt(8);
  c.created_at_ms = row.ColumnInt(9);
  c.updated_at_ms = row.ColumnInt(10);
  return c;
}

// One page of `table`, newest first, cut from the as-of snapshot. `extra` adds
// conditions on ?3 and ?4 (bound by `bind_extra`).
template <typename Row, typename Read, typename BindExtra>
Page<Row> ListPage(Database& db, const char* table, const char* columns, const PageQuery& query,
                   const std::string& extra, Read read, BindExtra bind_extra) {
  Page<Row> page;
  {
    auto top = db.Prepare(std::string("SELECT COALESCE(MAX(id), 0) FROM ") + table);
    top.Step();
    page.as_of_id = query.as_of_id.value_or(top.ColumnInt(0));
  }
  std::string where = " WHERE id <= ?1";
  if (query.owner_id) where += " AND owner_id = ?2";
  where += extra;
  auto bind = [&](Statement& s) {
    s.Bind(1, page.as_of_id);
    if (query.owner_id) s.Bind(2, *query.owner_id);
    bind_extra(s);
  };
  auto count = db.Prepare(std::string("SELECT COUNT(*) FROM ") + table + where);
  bind(count);
  count.Step();
  page.total_count = count.ColumnInt(0);
  auto rows =
      db.Prepare(std::string("SELECT ") + columns + " FROM " + table + where + " ORDER BY id DESC LIMIT ?5 OFFSET ?6");
  bind(rows);
  rows.Bind(5, query.page_size).Bind(6, static_cast<std::int64_t>(query.page - 1) * query.page_size);
  while (rows.Step()) page.rows.push_back(read(rows));
  return page;
}

}  // namespace

SqliteCampaignStore::SqliteCampaignStore(SharedDatabase& db) : db_(db) {}

SqliteCampaignStore::SqliteCampaignStore(const std::string& path)
    : owned_(std::make_unique<SharedDatabase>(path, SchemaPolicy::kMigrate)), db_(*owned_) {}

std::vector<ContactRecord> SqliteCampaignStore::CreateContacts(std::vector<ContactRecord> contacts,
                                                               std::int64_t now_ms) {
  auto writer = db_.Durable();
  Transaction tx(*writer);
  auto insert = writer->Prepare(
      "INSERT INTO contacts (owner_id, phone, email, telegram_chat_id, first_name, last_name, location, "
      "preferred_product, attributes, created_at, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?10)");
  for (auto& c : contacts) {
    insert.Reset();
    insert.Bind(1, c.owner_id);
    BindOptional(insert, 2, c.phone);
    BindOptional(insert, 3, c.email);
    BindOptional(insert, 4, c.telegram_chat_id);
    BindOptional(insert, 5, c.first_name);
    BindOptional(insert, 6, c.last_name);
    BindOptional(insert, 7, c.location);
    BindOptional(insert, 8, c.preferred_product);
    insert.Bind(9, c.attributes_json).Bind(10, now_ms);
    insert.Step();
    c.id = sqlite3_last_insert_rowid(writer->handle());
    c.created_at_ms = now_ms;
    c.updated_at_ms = now_ms;
  }
  tx.Commit();
  return contacts;
}

std::optional<ContactRecord> SqliteCampaignStore::GetContact(std::int64_t id) {
  auto reader = db_.Read();
  auto query = reader->Cached("SELECT " + std::string(kContactColumns) + " FROM contacts WHERE id = ?");
  query->Bind(1, id);
  if (!query->Step()) return std::nullopt;
  return ReadContact(*query);
}

Page<ContactRecord> SqliteCampaignStore::ListContacts(const PageQuery& query) {
  auto reader = db_.Read();
  return ListPage<ContactRecord>(*reader, "contacts", kContactColumns, query, "", ReadContact, [](Statement&) {});
}

bool SqliteCampaignStore::UpdateContact(const ContactRecord& c, std::int64_t now_ms) {
  auto writer = db_.Durable();
  auto update = writer->Prepare(
      "UPDATE contacts SET phone = ?2, email = ?3, telegram_chat_id = ?4, first_name = ?5, last_name = ?6, "
      "location = ?7, preferred_product = ?8, attributes = ?9, updated_at = ?10 WHERE id = ?1");
  update.Bind(1, c.id);
  BindOptional(update, 2, c.phone);
  BindOptional(update, 3, c.email);
  BindOptional(update, 4, c.telegram_chat_id);
  BindOptional(update, 5, c.first_name);
  BindOptional(update, 6, c.last_name);
  BindOptional(update, 7, c.location);
  BindOptional(update, 8, c.preferred_product);
  update.Bind(9, c.attributes_json).Bind(10, now_ms);
  update.Step();
  return writer->ChangedRows() > 0;
}

bool SqliteCampaignStore::DeleteContact(std::int64_t id) {
  auto writer = db_.Durable();
  auto remove = writer->Prepare("DELETE FROM contacts WHERE id = ?");
  remove.Bind(1, id).Step();
  return writer->ChangedRows() > 0;
}

std::vector<ContactRecord> SqliteCampaignStore::ContactsOf(std::int64_t owner_id, const std::vector<std::int64_t>& ids) {
  auto reader = db_.Read();
  std::vector<ContactRecord> out;
  auto query = reader->Cached("SELECT " + std::string(kContactColumns) + " FROM contacts WHERE id = ? AND owner_id = ?");
  for (const auto id : ids) {
    query->Reset();
    query->Bind(1, id).Bind(2, owner_id);
    if (query->Step()) out.push_back(ReadContact(*query));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::vector<ContactRecord> SqliteCampaignStore::ContactsAfter(std::int64_t owner_id, std::int64_t after_id,
                                                              int limit) {
  auto reader = db_.Read();
  std::vector<ContactRecord> out;
  auto query = reader->Cached("SELECT " + std::string(kContactColumns) +
                              " FROM contacts WHERE owner_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3");
  query->Bind(1, owner_id).Bind(2, after_id).Bind(3, limit);
  while (query->Step()) out.push_back(ReadContact(*query));
  return out;
}

TemplateRecord SqliteCampaignStore::CreateTemplate(TemplateRecord t, std::int64_t now_ms) {
  auto writer = db_.Durable();
  auto insert = writer->Prepare(
      "INSERT INTO templates (owner_id, name, channel, subject, html, text, variables, created_at, updated_at) "
      "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?8)");
  insert.Bind(1, t.owner_id).Bind(2, t.name);
  BindOptional(insert, 3, t.channel);
  insert.Bind(4, t.subject).Bind(5, t.html).Bind(6, t.text).Bind(7, JoinVariableNames(t.variables)).Bind(8, now_ms);
  insert.Step();
  t.id = sqlite3_last_insert_rowid(writer->handle());
  t.created_at_ms = now_ms;
  t.updated_at_ms = now_ms;
  return t;
}

std::optional<TemplateRecord> SqliteCampaignStore::GetTemplate(std::int64_t id) {
  auto reader = db_.Read();
  auto query = reader->Cached("SELECT " + std::string(kTemplateColumns) + " FROM templates WHERE id = ?");
  query->Bind(1, id);
  if (!query->Step()) return std::nullopt;
  return ReadTemplate(*query);
}

Page<TemplateRecord> SqliteCampaignStore::ListTemplates(const PageQuery& query) {
  auto reader = db_.Read();
  return ListPage<TemplateRecord>(*reader, "templates", kTemplateColumns, query, "", ReadTemplate, [](Statement&) {});
}

bool SqliteCampaignStore::UpdateTemplate(const TemplateRecord& t, std::int64_t now_ms) {
  auto writer = db_.Durable();
  auto update = writer->Prepare(
      "UPDATE templates SET name = ?2, channel = ?3, subject = ?4, html = ?5, text = ?6, variables = ?7, "
      "updated_at = ?8 WHERE id = ?1");
  update.Bind(1, t.id).Bind(2, t.name);
  BindOptional(update, 3, t.channel);
  update.Bind(4, t.subject).Bind(5, t.html).Bind(6, t.text).Bind(7, JoinVariableNames(t.variables)).Bind(8, now_ms);
  update.Step();
  return writer->ChangedRows() > 0;
}

bool SqliteCampaignStore::DeleteTemplate(std::int64_t id) {
  auto writer = db_.Durable();
  auto remove = writer->Prepare("DELETE FROM templates WHERE id = ?");
  remove.Bind(1, id).Step();
  return writer->ChangedRows() > 0;
}

CampaignRecord SqliteCampaignStore::CreateCampaign(CampaignRecord c, std::int64_t now_ms) {
  auto writer = db_.Durable();
  auto insert = writer->Prepare(
      "INSERT INTO campaigns (owner_id, name, channel, status, base_template, template_id, subject, scheduled_at, "
      "created_at, updated_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?9)");
  insert.Bind(1, c.owner_id).Bind(2, c.name).Bind(3, c.channel).Bind(4, c.status).Bind(5, c.base_template);
  BindOptional(insert, 6, c.template_id);
  insert.Bind(7, c.subject);
  BindOptional(insert, 8, c.scheduled_at_ms);
  insert.Bind(9, now_ms);
  insert.Step();
  c.id = sqlite3_last_insert_rowid(writer->handle());
  c.created_at_ms = now_ms;
  c.updated_at_ms = now_ms;
  return c;
}

std::optional<CampaignRecord> SqliteCampaignStore::GetCampaign(std::int64_t id) {
  auto reader = db_.Read();
  auto query = reader->Cached("SELECT " + std::string(kCampaignColumns) + " FROM campaigns WHERE id = ?");
  query->Bind(1, id);
  if (!query->Step()) return std::nullopt;
  return ReadCampaign(*query);
}

Page<CampaignRecord> SqliteCampaignStore::ListCampaigns(const PageQuery& query, const CampaignFilter& filter) {
  auto reader = db_.Read();
  std::string extra;
  if (!filter.channel.empty()) extra += " AND channel = ?3";
  if (!filter.status.empty()) extra += " AND status = ?4";
  return ListPage<CampaignRecord>(*reader, "campaigns", kCampaignColumns, query, extra, ReadCampaign,
                                  [&](Statement& s) {
                                    if (!filter.channel.empty()) s.Bind(3, filter.channel);
                                    if (!filter.status.empty()) s.Bind(4, filter.status);
                                  });
}

bool SqliteCampaignStore::SetCampaignStatus(std::int64_t id, const std::vector<std::string>& from,
                                            const std::string& status, std::int64_t now_ms) {
  auto writer = db_.Durable();
  std::string in;
  for (std::size_t i = 0; i < from.size(); ++i) in += (i ? ",?" : "?") + std::to_string(i + 4);
  auto update =
      writer->Prepare("UPDATE campaigns SET status = ?2, updated_at = ?3 WHERE id = ?1 AND status IN (" + in + ")");
  update.Bind(1, id).Bind(2, status).Bind(3, now_ms);
  for (std::size_t i = 0; i < from.size(); ++i) update.Bind(static_cast<int>(i + 4), from[i]);
  update.Step();
  return writer->ChangedRows() > 0;
}

void SqliteCampaignStore::LinkMessages(std::int64_t campaign_id, const std::vector<CampaignMessageLink>& links) {
  if (links.empty()) return;
  auto writer = db_.Durable();
  Transaction tx(*writer);
  auto insert =
      writer->Prepare("INSERT OR IGNORE INTO campaign_messages (campaign_id, contact_id, message_id) VALUES (?,?,?)");
  for (const auto& link : links) {
    insert.Reset();
    insert.Bind(1, campaign_id).Bind(2, link.contact_id).Bind(3, link.message_id).Step();
  }
  tx.Commit();
}

std::int64_t SqliteCampaignStore::RetryCampaign(std::int64_t campaign_id, const std::vector<std::string>& statuses,
                                                std::int64_t now_ms) {
  auto writer = db_.Durable();
  Transaction tx(*writer);
  auto retry = writer->Cached(
      "UPDATE message_recipients SET status = 'queued', attempts = 0, published = 0, due_at = ?1, updated_at = ?1, "
      "last_error = 'retry requested after: ' || last_error WHERE status = ?3 AND message_id IN "
      "(SELECT message_id FROM campaign_messages WHERE campaign_id = ?2)");
  std::int64_t requeued = 0;
  for (const auto& status : statuses) {
    retry->Reset();
    retry->Bind(1, now_ms).Bind(2, campaign_id).Bind(3, status).Step();
    requeued += writer->ChangedRows();
  }
  if (requeued > 0) {
    auto reopen = writer->Cached(
        "UPDATE campaigns SET status = 'sending', updated_at = ?1 WHERE id = ?2 AND status IN ('sent', 'failed')");
    reopen->Bind(1, now_ms).Bind(2, campaign_id).Step();
  }
  tx.Commit();
  return requeued;
}

std::int64_t SqliteCampaignStore::Settle(std::int64_t now_ms) {
  auto writer = db_.Durable();
  Transaction tx(*writer);
  auto start = writer->Cached(
      "UPDATE campaigns SET status = 'sending', updated_at = ?1 WHERE status = 'scheduled' "
      "AND scheduled_at <= ?1 AND EXISTS (SELECT 1 FROM campaign_messages cm WHERE cm.campaign_id = campaigns.id)");
  start->Bind(1, now_ms).Step();
  std::int64_t changed = writer->ChangedRows();
  auto finish = writer->Cached(
      "UPDATE campaigns SET updated_at = ?1, status = CASE WHEN EXISTS (SELECT 1 FROM campaign_messages cm "
      "JOIN message_recipients r ON r.message_id = cm.message_id WHERE cm.campaign_id = campaigns.id "
      "AND r.status = 'sent') THEN 'sent' ELSE 'failed' END "
      "WHERE status = 'sending' AND EXISTS (SELECT 1 FROM campaign_messages cm WHERE cm.campaign_id = campaigns.id) "
      "AND NOT EXISTS (SELECT 1 FROM campaign_messages cm JOIN message_recipients r ON r.message_id = cm.message_id "
      "WHERE cm.campaign_id = campaigns.id AND r.status IN ('queued', 'sending'))");
  finish->Bind(1, now_ms).Step();
  changed += writer->ChangedRows();
  tx.Commit();
  return changed;
}

CampaignStats SqliteCampaignStore::Stats(std::int64_t campaign_id) {
  auto reader = db_.Read();
  auto query = reader->Cached(
      "SELECT r.status, COUNT(*) FROM campaign_messages cm JOIN message_recipients r ON r.message_id = cm.message_id "
      "WHERE cm.campaign_id = ? GROUP BY r.status");
  query->Bind(1, campaign_id);
  CampaignStats stats;
  while (query->Step()) stats.Add(query->ColumnText(0), query->ColumnInt(1));
  auto tracked = reader->Cached(
      "SELECT e.kind, COUNT(DISTINCT e.recipient_id) FROM campaign_messages cm "
      "JOIN message_recipients r ON r.message_id = cm.message_id JOIN provider_events e ON e.recipient_id = r.id "
      "WHERE cm.campaign_id = ? GROUP BY e.kind");
  tracked->Bind(1, campaign_id);
  while (tracked->Step()) stats.AddTracked(tracked->ColumnText(0), tracked->ColumnInt(1));
  return stats;
}

}  // namespace herald::store::sqlite
