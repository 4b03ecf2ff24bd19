// The store contract (store_contract_test.hpp): what api/, dispatch/ and the
// certificate job rely on, whatever the backend.
#include "store/store_contract_test.hpp"

#include <map>
#include <set>

#include "common/hash.hpp"

namespace herald::store::testing {
namespace {

using domain::DeliveryStatus;

NewMessage Message(std::int64_t owner, std::string content, std::vector<NewRecipient> to, int priority = 0) {
  NewMessage m;
  m.owner_id = owner;
  m.content = std::move(content);
  m.recipients = std::move(to);
  m.priority = priority;
  return m;
}

ContactRecord Contact(std::int64_t owner, std::string phone, std::optional<std::string> first_name = {}) {
  ContactRecord c;
  c.owner_id = owner;
  c.phone = std::move(phone);
  c.first_name = std::move(first_name);
  return c;
}

CampaignRecord Campaign(std::int64_t owner, std::string channel = "sms") {
  CampaignRecord c;
  c.owner_id = owner;
  c.name = "promo";
  c.channel = std::move(channel);
  c.status = "draft";
  c.base_template = "Hi {first_name}";
  return c;
}

CertificateDelivery Certificate(std::string id, std::string slug = "ai-ml", int line = 2) {
  CertificateDelivery row;
  row.id = std::move(id);
  row.certificate_id = "C-" + row.id;
  row.event_name = "AI/ML";
  row.event_slug = std::move(slug);
  row.student_name = "Ada";
  row.email = row.id + "@example.org";
  row.variables_json = "{}";
  row.csv_line = line;
  return row;
}

TEST_P(MessageContract, KeysAreFoundByHashUntilRevoked) {
  auto& keys = stores_->keys();
  const auto key = keys.CreateKey("ops", "admin", "premium", "hash-1", "hk_1234", 10);
  ASSERT_TRUE(keys.FindActiveKey("hash-1"));
  EXPECT_EQ(keys.FindActiveKey("hash-1")->role, "admin");
  EXPECT_EQ(keys.FindActiveKey("hash-1")->tier, "premium");
  EXPECT_FALSE(keys.FindActiveKey("hash-2"));
  EXPECT_TRUE(keys.RevokeKey(key.id, 20));
  EXPECT_FALSE(keys.RevokeKey(key.id, 30));  // already revoked
  EXPECT_FALSE(keys.FindActiveKey("hash-1"));
  EXPECT_EQ(keys.ListKeys().size(), 2u);
  EXPECT_EQ(keys.ListKeys()[1].revoked_at_ms, 20);
}

TEST_P(MessageContract, AnIssuedKeyIsStoredOnlyAsItsHash) {
  const auto issued = stores_->keys().IssueKey("app", "user", "basic", 10);
  EXPECT_EQ(issued.key.rfind("hk_", 0), 0u);
  EXPECT_EQ(issued.key.size(), 51u);
  EXPECT_EQ(issued.record.key_prefix, issued.key.substr(0, 10));
  EXPECT_FALSE(stores_->keys().FindActiveKey(issued.key)) << "the plain key must not be what is looked up";
  const auto found = stores_->keys().FindActiveKey(Sha256Hex(issued.key));
  ASSERT_TRUE(found) << "the key is found by its SHA-256";
  EXPECT_EQ(found->id, issued.record.id);
  EXPECT_EQ(found->tier, "basic");
}

TEST_P(MessageContract, TheSameIdempotencyKeyReturnsTheFirstMessage) {
  auto first = Message(owner_, "hello", {{"sms", "+15551230001"}, {"email", "a@example.org"}});
  first.idempotency_key = "order-42";
  auto again = Message(owner_, "different body", {{"sms", "+15551230002"}});
  again.idempotency_key = "order-42";
  const auto accepted = stores_->messages().Accept({first, again}, 100);
  ASSERT_EQ(accepted.size(), 2u);
  EXPECT_TRUE(accepted[0].created);
  EXPECT_FALSE(accepted[1].created);
  EXPECT_EQ(accepted[1].message.id, accepted[0].message.id);
  EXPECT_EQ(accepted[1].message.content, "hello");
  EXPECT_EQ(accepted[1].message.recipients.size(), 2u);
  const auto later = stores_->messages().Accept({again}, 200);
  EXPECT_FALSE(later[0].created);
  EXPECT_EQ(later[0].message.id, accepted[0].message.id);
}

TEST_P(MessageContract, LanesTakeByPriorityThenAgeAndAClaimIsMadeOnce) {
  stores_->messages().Accept({Message(owner_, "low", {{"sms", "+15551230001"}}, 0),
                              Message(owner_, "high", {{"sms", "+15551230002"}}, 5),
                              Message(owner_, "low 2", {{"sms", "+15551230003"}}, 0),
                              Message(owner_, "mail", {{"email", "a@example.org"}})},
                             100);
  auto& deliveries = stores_->deliveries();
  const auto due = deliveries.TakeDue("sms", TakeOrder::kPriorityThenDue, 10, 200, {});
  std::vector<std::string> order;
  for (const auto& d : due) order.push_back(d.content);
  EXPECT_EQ(order, (std::vector<std::string>{"high", "low", "low 2"}));
  EXPECT_EQ(StatusOf(due[0].recipient.message_id), "queued") << "taking reads only";

  // Held ones (taken and not settled) are left out of the next take.
  const auto rest =
      deliveries.TakeDue("sms", TakeOrder::kPriorityThenDue, 10, 200, {due[0].recipient.id, due[1].recipient.id});
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].content, "low 2");

  // Claiming twice in one call succeeds once; asked again later by the same
  // process it is that same claim (AClaimAskedAgainByItsProcessIsItsClaimStill).
  const auto id = due[0].recipient.id;
  EXPECT_EQ(deliveries.RecordAndClaimMany({}, {id, id}, 200, std::nullopt), (std::vector<bool>{true, false}));
  EXPECT_EQ(StatusOf(due[0].recipient.message_id), "sending");
  EXPECT_EQ(stores_->messages().GetMessage(due[0].recipient.message_id)->recipients[0].attempts, 1);

  Record({{id, "sent", "p-1", "", 0}}, 210);
  const auto message = stores_->messages().GetMessage(due[0].recipient.message_id);
  EXPECT_EQ(message->recipients[0].status, "sent");
  EXPECT_EQ(message->recipients[0].provider_message_id, "p-1");
  EXPECT_EQ(message->recipients[0].sent_at_ms, 210);
}

TEST_P(MessageContract, OutcomesAndClaimsOfOneCommitLandTogether) {
  stores_->messages().Accept({Message(owner_, "a", {{"sms", "+15551230001"}}),
                              Message(owner_, "b", {{"sms", "+15551230002"}}),
                              Message(owner_, "c", {{"sms", "+15551230003"}})},
                             100);
  auto& deliveries = stores_->deliveries();
  const auto due = deliveries.TakeDue("sms", TakeOrder::kPriorityThenDue, 3, 100, {});
  ASSERT_EQ(due.size(), 3u);
  ASSERT_EQ(deliveries.RecordAndClaimMany({}, {due[0].recipient.id}, 100, std::nullopt), (std::vector<bool>{true}));
  // One outcome of a claimed one, one render failure of a queued one, one claim.
  const auto claimed = deliveries.RecordAndClaimMany(
      {{due[0].recipient.id, "sent", "p-1", "", 0, true}, {due[1].recipient.id, "failed", "", "bad template", 0, false}},
      {due[2].recipient.id}, 110, std::nullopt);
  EXPECT_EQ(claimed, (std::vector<bool>{true}));
  EXPECT_EQ(StatusOf(due[0].recipient.message_id), "sent");
  EXPECT_EQ(StatusOf(due[1].recipient.message_id), "failed");
  EXPECT_EQ(stores_->messages().GetMessage(due[1].recipient.message_id)->recipients[0].last_error, "bad template");
  EXPECT_EQ(StatusOf(due[2].recipient.message_id), "sending");
}

// The outcomes go first: a recipient whose outcome puts it back in the queue
// can be claimed again in the same commit.
TEST_P(MessageContract, ARecipientRecordedAndClaimedInOneCommitIsRecordedFirst) {
  const auto accepted = stores_->messages().Accept({Message(owner_, "a", {{"sms", "+15551230001"}})}, 100);
  const auto id = accepted[0].message.recipients[0].id;
  auto& deliveries = stores_->deliveries();
  ASSERT_EQ(deliveries.RecordAndClaimMany({}, {id}, 100, std::nullopt), std::vector<bool>{true});
  EXPECT_EQ(deliveries.RecordAndClaimMany({{id, "queued", "", "try again", 110, true}}, {id}, 110, std::nullopt),
            std::vector<bool>{true});
  const auto message = stores_->messages().GetMessage(accepted[0].message.id);
  EXPECT_EQ(message->recipients[0].status, "sending");
  EXPECT_EQ(message->recipients[0].attempts, 2);
  EXPECT_EQ(message->recipients[0].last_error, "try again");
}

TEST_P(MessageContract, ScheduledAndRetriedWorkWaitsForItsDueTime) {
  auto later = Message(owner_, "later", {{"sms", "+15551230001"}});
  later.scheduled_at_ms = 5000;
  stores_->messages().Accept({later}, 100);
  EXPECT_TRUE(stores_->deliveries().HasOpen("sms"));
  EXPECT_FALSE(stores_->deliveries().HasOpen("email"));
  EXPECT_FALSE(ClaimNext("sms", 4999));
  EXPECT_EQ(stores_->deliveries().NextDueAt("sms"), 5000);
  EXPECT_FALSE(stores_->deliveries().NextDueAt("email"));
  auto claim = ClaimNext("sms", 5000);
  ASSERT_TRUE(claim);
  Record({{claim->recipient.id, "queued", "", "451 try later", 9000}}, 5001);
  EXPECT_FALSE(ClaimNext("sms", 8999));
  claim = ClaimNext("sms", 9000);
  ASSERT_TRUE(claim);
  EXPECT_EQ(claim->recipient.attempts, 1) << "attempts so far, before this claim";
  EXPECT_EQ(claim->recipient.last_error, "451 try later");
  Record({{claim->recipient.id, "sent", "p", "", 0}}, 9001);
  EXPECT_FALSE(stores_->deliveries().HasOpen("sms"));
}

TEST_P(MessageContract, CancelStopsOnlyWhatNoLaneHasClaimed) {
  const auto id = stores_->messages()
                      .Accept({Message(owner_, "x", {{"sms", "+15551230001"}, {"sms", "+15551230002"}})}, 100)[0]
                      .message.id;
  ASSERT_TRUE(ClaimNext("sms", 100));
  const auto result = stores_->messages().CancelMessage(id, 150);
  EXPECT_TRUE(result.found);
  EXPECT_EQ(result.cancelled, 1);
  EXPECT_EQ(result.not_pending, 1);
  EXPECT_FALSE(ClaimNext("sms", 200));
  EXPECT_FALSE(stores_->messages().CancelMessage(id + 1000, 200).found);
}

TEST_P(MessageContract, RetryRequeuesOnlyTheNamedEndStatesWithFreshAttempts) {
  const auto id = stores_->messages()
                      .Accept({Message(owner_, "x", {{"sms", "+15551230001"}, {"sms", "+15551230002"},
                                                     {"sms", "+15551230003"}})},
                              100)[0]
                      .message.id;
  const auto a = ClaimNext("sms", 100);
  const auto b = ClaimNext("sms", 100);
  const auto c = ClaimNext("sms", 100);
  Record({{a->recipient.id, "dead", "", "refused", 0}, {b->recipient.id, "unknown", "", "lost", 0},
          {c->recipient.id, "sent", "p", "", 0}},
         110);
  EXPECT_EQ(stores_->messages().RetryMessage(id, {"failed", "dead"}, 200), 1);
  EXPECT_EQ(StatusOf(id, 0), "queued");
  EXPECT_EQ(stores_->messages().GetMessage(id)->recipients[0].attempts, 0);
  EXPECT_EQ(StatusOf(id, 1), "unknown") << "unknown is re-sent only when named";
  EXPECT_EQ(StatusOf(id, 2), "sent");
  EXPECT_EQ(stores_->messages().RetryMessage(id, {"unknown"}, 200), 1);
  EXPECT_EQ(stores_->messages().RetryMessage(id, {"failed", "dead", "unknown"}, 200), 0);
}

TEST_P(MessageContract, TheOutboxHandsOverDueQueuedRecipientsOnceAndAgainAfterARetryOrALoss) {
  auto now = Message(owner_, "now", {{"sms", "+15551230001"}, {"email", "ann@example.org"}}, 2);
  auto later = Message(owner_, "later", {{"sms", "+15551230002"}});
  later.scheduled_at_ms = 5000;
  const auto accepted = stores_->messages().Accept({now, later}, 100);
  stores_->pacing().Enqueue({{owner_, "+15551239999", "paced"}}, 100);
  auto& outbox = stores_->deliveries();

  auto due = outbox.TakeUnpublished(10, 200);
  ASSERT_EQ(due.size(), 2u) << "the scheduled one is not due; the paced lane is never published";
  EXPECT_EQ(due[0].lane, "sms");
  EXPECT_EQ(due[0].priority, 2);
  EXPECT_EQ(due[1].lane, "email");
  EXPECT_EQ(outbox.TakeUnpublished(1, 200).size(), 1u) << "at most max";
  outbox.MarkPublished({due[0]});
  ASSERT_EQ(outbox.TakeUnpublished(10, 200).size(), 1u);
  EXPECT_EQ(outbox.TakeUnpublished(10, 200)[0].recipient_id, due[1].recipient_id);
  outbox.MarkPublished({due[1]});
  EXPECT_TRUE(outbox.TakeUnpublished(10, 200).empty());
  ASSERT_EQ(outbox.TakeUnpublished(10, 5000).size(), 1u) << "due once its time comes";

  // What a lane fed by the broker reads: any state, unknown ids left out.
  auto loaded = outbox.LoadDeliveries({due[1].recipient_id, 999999, due[0].recipient_id});
  ASSERT_EQ(loaded.size(), 2u);
  EXPECT_EQ(loaded[0].recipient.address, "ann@example.org");
  EXPECT_EQ(loaded[0].content, "now");
  EXPECT_EQ(loaded[1].recipient.status, "queued");

  // A failed recipient retried by hand goes to the broker again.
  auto claim = ClaimNext("sms", 300);
  ASSERT_TRUE(claim);
  ASSERT_EQ(claim->recipient.id, due[0].recipient_id);
  Record({{claim->recipient.id, "dead", "", "refused", 0}}, 310);
  EXPECT_EQ(outbox.LoadDeliveries({claim->recipient.id})[0].recipient.status, "dead");
  EXPECT_TRUE(outbox.TakeUnpublished(10, 400).empty());
  ASSERT_EQ(stores_->messages().RetryMessage(accepted[0].message.id, {"dead"}, 400), 1);
  due = outbox.TakeUnpublished(10, 400);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].recipient_id, claim->recipient.id);
  outbox.MarkPublished({due[0]});

  // The broker lost a lane: its queued recipients count as never handed over.
  EXPECT_EQ(outbox.ForgetPublished("email", 0), 0) << "none was due that early";
  EXPECT_EQ(outbox.ForgetPublished("email", INT64_MAX), 1);
  due = outbox.TakeUnpublished(10, 400);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].lane, "email");
}

// The relay marks what it published after the broker confirmed it; by then a
// worker may have sent it, failed it and a user retried it. That retry is a
// new hand-over, and the late mark of the first one must not swallow it.
TEST_P(MessageContract, AHandOverMarkedAfterARetryLeavesTheRetryToBeHandedOver) {
  const auto accepted = stores_->messages().Accept({Message(owner_, "x", {{"sms", "+15551230001"}})}, 100);
  auto& outbox = stores_->deliveries();
  const auto first = outbox.TakeUnpublished(10, 200);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].due_at_ms, 100);
  const auto claim = ClaimNext("sms", 300);
  ASSERT_TRUE(claim);
  Record({{claim->recipient.id, "dead", "", "refused", 0}}, 310);
  ASSERT_EQ(stores_->messages().RetryMessage(accepted[0].message.id, {"dead"}, 400), 1);
  outbox.MarkPublished(first);
  const auto retry = outbox.TakeUnpublished(10, 500);
  ASSERT_EQ(retry.size(), 1u) << "the retry is still to be handed over";
  EXPECT_EQ(retry[0].recipient_id, first[0].recipient_id);
  EXPECT_EQ(retry[0].due_at_ms, 400);
  outbox.MarkPublished(retry);
  EXPECT_TRUE(outbox.TakeUnpublished(10, 500).empty());
}

// A retry the engine decides is handed back to the broker by the lane, never
// by the relay, even when the relay's mark of the first hand-over comes late.
TEST_P(MessageContract, AnEngineRetryIsNeverHandedOverByTheRelay) {
  stores_->messages().Accept({Message(owner_, "x", {{"sms", "+15551230001"}})}, 100);
  auto& outbox = stores_->deliveries();
  const auto first = outbox.TakeUnpublished(10, 200);
  ASSERT_EQ(first.size(), 1u);
  const auto claim = ClaimNext("sms", 300);
  ASSERT_TRUE(claim);
  Record({{claim->recipient.id, "queued", "", "451 try later", 5000}}, 310);
  outbox.MarkPublished(first);
  EXPECT_TRUE(outbox.TakeUnpublished(10, 6000).empty());
}

TEST_P(MessageContract, ACancelledRecipientIsNeverHandedOver) {
  const auto kept = stores_->messages().Accept({Message(owner_, "kept", {{"sms", "+15551230001"}})}, 100);
  const auto cancelled = stores_->messages().Accept({Message(owner_, "gone", {{"sms", "+15551230002"}})}, 100);
  ASSERT_EQ(stores_->messages().CancelMessage(cancelled[0].message.id, 150).cancelled, 1);
  auto& outbox = stores_->deliveries();
  for (int pass = 0; pass < 2; ++pass) {
    const auto due = outbox.TakeUnpublished(10, 200);
    ASSERT_EQ(due.size(), 1u) << "pass " << pass;
    EXPECT_EQ(due[0].recipient_id, kept[0].message.recipients[0].id);
  }
}

TEST_P(MessageContract, SendsInterruptedByACrashBecomeUnknownNotQueued) {
  const auto id = stores_->messages().Accept({Message(owner_, "x", {{"sms", "+15551230001"}})}, 100)[0].message.id;
  ASSERT_TRUE(ClaimNext("sms", 100));
  Reopen();
  EXPECT_EQ(stores_->deliveries().ResolveAbandoned(300, kNoOtherProcessAlive), 1);
  EXPECT_EQ(StatusOf(id), "unknown");
  EXPECT_FALSE(ClaimNext("sms", 400));
  EXPECT_EQ(stores_->deliveries().ResolveAbandoned(500, kNoOtherProcessAlive), 0);
}

// A commit that went through but whose answer was lost (the connection broke
// after COMMIT): the engine asks for the same claims again, and gets them, once;
// another process does not, and a second ask in one call is no second claim.
TEST_P(MessageContract, AClaimAskedAgainByItsProcessIsItsClaimStill) {
  auto other = backend_->Open(clock_);
  const auto accepted = stores_->messages().Accept({Message(owner_, "a", {{"sms", "+15551230001"}})}, 100);
  const auto id = accepted[0].message.recipients[0].id;
  auto& mine = stores_->deliveries();
  ASSERT_EQ(mine.RecordAndClaimMany({}, {id}, 100, std::nullopt), std::vector<bool>{true});
  EXPECT_EQ(mine.RecordAndClaimMany({}, {id}, 200, std::nullopt), std::vector<bool>{true});
  EXPECT_EQ(other->deliveries().RecordAndClaimMany({}, {id}, 300, std::nullopt), std::vector<bool>{false});
  EXPECT_EQ(stores_->messages().GetMessage(accepted[0].message.id)->recipients[0].attempts, 1)
      << "the same claim, not another attempt";
  mine.RecordAndClaimMany({{id, "sent", "prov-1", "", 0, true}}, {}, 400, std::nullopt);
  EXPECT_EQ(StatusOf(accepted[0].message.id), "sent");
  EXPECT_EQ(mine.RecordAndClaimMany({}, {id}, 500, std::nullopt), std::vector<bool>{false}) << "final";

  const auto second = stores_->messages().Accept({Message(owner_, "b", {{"sms", "+15551230002"}})}, 600);
  const auto twice = second[0].message.recipients[0].id;
  EXPECT_EQ(mine.RecordAndClaimMany({}, {twice, twice}, 600, std::nullopt), (std::vector<bool>{true, false}));
}

// Two processes on one store (herald worker x2): a process's sends in flight
// stay its own while it is seen alive, become unknown once it is not, and an
// outcome it reports after that (it was only paused) changes nothing.
TEST_P(MessageContract, OnlyTheSendsOfAProcessThatStoppedBecomeUnknown) {
  auto other = backend_->Open(clock_);
  auto& mine = stores_->deliveries();
  auto& theirs = other->deliveries();
  ASSERT_NE(mine.claimant(), theirs.claimant());
  const auto accepted = stores_->messages().Accept(
      {Message(owner_, "a", {{"sms", "+15551230001"}}), Message(owner_, "b", {{"sms", "+15551230002"}})}, 100);
  const auto first = accepted[0].message.recipients[0].id;
  const auto second = accepted[1].message.recipients[0].id;
  ASSERT_EQ(mine.RecordAndClaimMany({}, {first}, 100, std::nullopt), std::vector<bool>{true});
  ASSERT_EQ(theirs.RecordAndClaimMany({}, {second}, 100, std::nullopt), std::vector<bool>{true});
  mine.Heartbeat(1000);
  theirs.Heartbeat(1000);
  EXPECT_EQ(theirs.ResolveAbandoned(5000, 1000), 0) << "both were seen at 1000";
  EXPECT_EQ(StatusOf(accepted[0].message.id), "sending");

  // This process falls silent; the other goes on and sweeps.
  theirs.Heartbeat(10000);
  EXPECT_EQ(theirs.ResolveAbandoned(10000, 9000), 1);
  EXPECT_EQ(StatusOf(accepted[0].message.id), "unknown");
  EXPECT_EQ(StatusOf(accepted[1].message.id), "sending") << "a sweeper's own sends are never abandoned";
  EXPECT_EQ(mine.ResolveAbandoned(10000, 9000), 0) << "the other was seen at 10000";

  // The silent process wakes and reports: its claim was resolved, so nothing
  // changes; nor can it record the other's claim.
  mine.RecordAndClaimMany({{first, "sent", "late-id", "", 0, true}, {second, "failed", "", "not mine", 0, true}}, {},
                          11000, std::nullopt);
  EXPECT_EQ(StatusOf(accepted[0].message.id), "unknown");
  EXPECT_EQ(StatusOf(accepted[1].message.id), "sending");
  theirs.RecordAndClaimMany({{second, "sent", "id-2", "", 0, true}}, {}, 11000, std::nullopt);
  EXPECT_EQ(StatusOf(accepted[1].message.id), "sent");
}

TEST_P(MessageContract, PagesStayStableWhileMessagesAreAdded) {
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(stores_->messages()
                      .Accept({Message(owner_, "m" + std::to_string(i), {{"sms", "+15551230001"}})}, 100)[0]
                      .message.id);
  }
  MessageFilter filter;
  const auto first = stores_->messages().ListMessages(filter, 1, 2);
  ASSERT_EQ(first.messages.size(), 2u);
  EXPECT_EQ(first.messages[0].id, ids[4]);
  EXPECT_EQ(first.total_count, 5);
  stores_->messages().Accept({Message(owner_, "new", {{"sms", "+15551230001"}})}, 200);
  filter.as_of_id = first.as_of_id;
  const auto second = stores_->messages().ListMessages(filter, 2, 2);
  ASSERT_EQ(second.messages.size(), 2u);
  EXPECT_EQ(second.messages[0].id, ids[2]);
  EXPECT_EQ(second.total_count, 5);
  MessageFilter by_channel;
  by_channel.channel = "email";
  EXPECT_EQ(stores_->messages().ListMessages(by_channel, 1, 10).total_count, 0);
  by_channel.channel = "sms";
  by_channel.status = "queued";
  EXPECT_EQ(stores_->messages().ListMessages(by_channel, 1, 10).total_count, 6);
  MessageFilter someone_else;
  someone_else.owner_id = owner_ + 1000;
  EXPECT_EQ(stores_->messages().ListMessages(someone_else, 1, 10).total_count, 0);
}

TEST_P(MessageContract, CountsByLaneAndStatus) {
  stores_->messages().Accept({Message(owner_, "x", {{"sms", "+15551230001"}, {"email", "a@example.org"}})}, 100);
  const auto claim = ClaimNext("sms", 100);
  Record({{claim->recipient.id, "sent", "p", "", 0}}, 110);
  const auto counts = stores_->messages().CountByLaneAndStatus();
  using ChannelStatus = std::pair<std::string, std::string>;
  std::map<ChannelStatus, std::int64_t> by_key(counts.begin(), counts.end());
  EXPECT_EQ(by_key[ChannelStatus("sms", "sent")], 1);
  EXPECT_EQ(by_key[ChannelStatus("email", "queued")], 1);
  EXPECT_EQ(by_key.size(), 2u);
}

TEST_P(MessageContract, ContactsRoundTripWithMissingFieldsAndAreUpdatedAndDeleted) {
  auto& contacts = stores_->contacts();
  auto stored = contacts.CreateContacts({Contact(1, "+15551230001", "Ann"), Contact(1, "+15551230002")}, 100);
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_LT(stored[0].id, stored[1].id);
  auto read = contacts.GetContact(stored[1].id);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->phone, "+15551230002");
  EXPECT_FALSE(read->first_name);  // missing stays missing, not ""
  EXPECT_EQ(read->attributes_json, "{}");
  read->last_name = "Lee";
  read->attributes_json = R"({"tier":"gold"})";
  EXPECT_TRUE(contacts.UpdateContact(*read, 200));
  const auto updated = contacts.GetContact(read->id);
  EXPECT_EQ(updated->last_name, "Lee");
  EXPECT_EQ(updated->attributes_json, R"({"tier":"gold"})");
  EXPECT_EQ(updated->created_at_ms, 100);
  EXPECT_EQ(updated->updated_at_ms, 200);
  EXPECT_TRUE(contacts.DeleteContact(read->id));
  EXPECT_FALSE(contacts.DeleteContact(read->id));
  EXPECT_FALSE(contacts.GetContact(read->id));
  EXPECT_FALSE(contacts.UpdateContact(*read, 300));
}

TEST_P(MessageContract, AContactWithoutAnyAddressIsRefusedAndNothingOfItsBatchIsStored) {
  std::vector<ContactRecord> batch = {Contact(1, "+15551230001"), ContactRecord{}};
  batch[1].owner_id = 1;
  batch[1].first_name = "Ann";
  EXPECT_THROW(stores_->contacts().CreateContacts(std::move(batch), 100), std::runtime_error);
  EXPECT_TRUE(stores_->contacts().ContactsAfter(1, 0, 10).empty());
}

TEST_P(MessageContract, ContactsOfAnOwnerAreScopedAndComeInPagesById) {
  auto& contacts = stores_->contacts();
  std::vector<ContactRecord> many;
  for (int i = 0; i < 25; ++i) many.push_back(Contact(1, "+155512300" + std::to_string(10 + i)));
  const auto mine = contacts.CreateContacts(std::move(many), 100);
  const auto theirs = contacts.CreateContacts({Contact(2, "+15551230003")}, 100);
  std::vector<std::int64_t> seen;
  for (std::int64_t after = 0;;) {
    const auto page = contacts.ContactsAfter(1, after, 10);
    if (page.empty()) break;
    EXPECT_LE(page.size(), 10u);
    for (const auto& contact : page) seen.push_back(contact.id);
    after = page.back().id;
  }
  ASSERT_EQ(seen.size(), 25u);
  for (std::size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], mine[i].id);
  EXPECT_EQ(contacts.ContactsAfter(2, 0, 100).size(), 1u);
  // Another owner's id is not returned even when asked for.
  const auto some = contacts.ContactsOf(1, std::vector<std::int64_t>{mine[1].id, theirs[0].id});
  ASSERT_EQ(some.size(), 1u);
  EXPECT_EQ(some[0].id, mine[1].id);
}

TEST_P(MessageContract, CampaignPagesAreNewestFirstAndStableWhileRowsAreAdded) {
  auto& campaigns = stores_->campaigns();
  for (int i = 0; i < 5; ++i) campaigns.CreateCampaign(Campaign(1, i % 2 ? "email" : "sms"), 100 + i);
  campaigns.CreateCampaign(Campaign(2), 200);
  PageQuery query;
  query.owner_id = 1;
  query.page_size = 2;
  const auto first = campaigns.ListCampaigns(query, {});
  EXPECT_EQ(first.total_count, 5);
  ASSERT_EQ(first.rows.size(), 2u);
  EXPECT_GT(first.rows[0].id, first.rows[1].id);
  campaigns.CreateCampaign(Campaign(1), 300);
  std::set<std::int64_t> seen;
  for (const auto& c : first.rows) seen.insert(c.id);
  query.as_of_id = first.as_of_id;
  for (int page = 2; page <= 3; ++page) {
    query.page = page;
    const auto next = campaigns.ListCampaigns(query, {});
    EXPECT_EQ(next.total_count, 5);
    for (const auto& c : next.rows) EXPECT_TRUE(seen.insert(c.id).second) << "duplicate " << c.id;
  }
  EXPECT_EQ(seen.size(), 5u);
  query = PageQuery{};
  EXPECT_EQ(campaigns.ListCampaigns(query, {.channel = "email"}).total_count, 2);
  EXPECT_EQ(campaigns.ListCampaigns(query, {.status = "draft"}).total_count, 7);
  EXPECT_EQ(campaigns.ListCampaigns(query, {.status = "sent"}).total_count, 0);
}

TEST_P(MessageContract, TemplatesKeepTheirVariablesAndPageLikeTheOtherResources) {
  auto& templates = stores_->templates();
  TemplateRecord t;
  t.owner_id = 1;
  t.name = "welcome";
  t.channel = "email";
  t.subject = "Hi {{first_name}}";
  t.text = "Hello {{first_name}} from {{location}}";
  t.variables = {"first_name", "location"};
  const auto stored = templates.CreateTemplate(t, 100);
  auto read = templates.GetTemplate(stored.id);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->variables, (std::vector<std::string>{"first_name", "location"}));
  EXPECT_EQ(read->channel, "email");
  read->channel.reset();
  read->variables = {};
  EXPECT_TRUE(templates.UpdateTemplate(*read, 200));
  EXPECT_FALSE(templates.GetTemplate(stored.id)->channel);
  EXPECT_TRUE(templates.GetTemplate(stored.id)->variables.empty());
  PageQuery mine;
  mine.owner_id = 1;
  EXPECT_EQ(templates.ListTemplates(mine).total_count, 1);
  mine.owner_id = 2;
  EXPECT_EQ(templates.ListTemplates(mine).total_count, 0);
  EXPECT_TRUE(templates.DeleteTemplate(stored.id));
  EXPECT_FALSE(templates.GetTemplate(stored.id));
}

TEST_P(MessageContract, CampaignStatsFollowTheirMessagesAndSettleTheStatus) {
  auto& campaigns = stores_->campaigns();
  auto campaign = campaigns.CreateCampaign(Campaign(owner_), 100);
  const auto accepted = stores_->messages().Accept(
      {Message(owner_, "hi", {{"sms", "+15551230001"}}), Message(owner_, "hi", {{"sms", "+15551230002"}})}, 100);
  campaigns.LinkMessages(campaign.id, {{10, accepted[0].message.id}, {11, accepted[1].message.id}});
  campaigns.LinkMessages(campaign.id, {{10, accepted[0].message.id}});  // linking again changes nothing
  EXPECT_TRUE(campaigns.SetCampaignStatus(campaign.id, {"draft"}, "sending", 110));
  EXPECT_FALSE(campaigns.SetCampaignStatus(campaign.id, {"draft"}, "sending", 110));
  auto stats = campaigns.Stats(campaign.id);
  EXPECT_EQ(stats.total, 2);
  EXPECT_EQ(stats.pending, 2);
  EXPECT_EQ(campaigns.Settle(120), 0);  // still pending
  const auto first = ClaimNext("sms", 200);
  const auto second = ClaimNext("sms", 200, {{first->recipient.id, "sent", "p-1", "", 0}});
  Record({{second->recipient.id, "dead", "", "refused", 0}}, 210);
  stats = campaigns.Stats(campaign.id);
  EXPECT_EQ(stats.pending, 0);
  EXPECT_EQ(stats.sent, 1);
  EXPECT_EQ(stats.failed, 1);
  EXPECT_EQ(campaigns.Settle(300), 1);
  EXPECT_EQ(campaigns.GetCampaign(campaign.id)->status, "sent");

  // A retry puts the dead one back and the campaign back to sending.
  EXPECT_EQ(campaigns.RetryCampaign(campaign.id, {"failed", "dead"}, 400), 1);
  EXPECT_EQ(campaigns.GetCampaign(campaign.id)->status, "sending");
  EXPECT_EQ(campaigns.Stats(campaign.id).pending, 1);

  // A campaign with no messages is never settled.
  const auto empty = campaigns.CreateCampaign(Campaign(owner_), 100);
  campaigns.SetCampaignStatus(empty.id, {"draft"}, "sending", 110);
  EXPECT_EQ(campaigns.Settle(400), 0);
  EXPECT_EQ(campaigns.GetCampaign(empty.id)->status, "sending");
}

TEST_P(MessageContract, ProviderEventsAreStoredOnceAndShownOnTheirRecipientOldestFirst) {
  const auto accepted =
      stores_->messages().Accept({Message(owner_, "hi", {{"sms", "+15551230001"}, {"sms", "+15551230002"}})}, 100);
  const auto& message = accepted[0].message;
  const auto first = message.recipients[0].id;
  const auto second = message.recipients[1].id;
  auto& tracking = stores_->tracking();
  const std::vector<ProviderEvent> events{
      {"twilio", "SM1:delivered", first, "delivered", "delivered", 300},
      {"twilio", "SM1:sent", first, "accepted", "sent", 200},
      {"twilio", "SM2:undelivered", second, "bounced", "undelivered: 30003 Unreachable destination handset", 250},
      {"twilio", "SM9:delivered", second + 1000, "delivered", "delivered", 300},
  };
  EXPECT_EQ(tracking.RecordEvents(events, 400),
            (std::vector<EventRecorded>{EventRecorded::kStored, EventRecorded::kStored, EventRecorded::kStored,
                                        EventRecorded::kUnknownRecipient}));
  // A replay (same provider and event id) changes nothing, even with other words.
  EXPECT_EQ(tracking.RecordEvents({{"twilio", "SM1:delivered", first, "bounced", "changed", 900}}, 950),
            (std::vector<EventRecorded>{EventRecorded::kReplay}));
  // Another provider's event with the same id is its own.
  EXPECT_EQ(tracking.RecordEvents({{"sendgrid", "SM1:delivered", first, "read", "open", 500}}, 950),
            (std::vector<EventRecorded>{EventRecorded::kStored}));

  Reopen();
  const auto loaded = stores_->messages().GetMessage(message.id);
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->recipients[0].events.size(), 3u);
  EXPECT_EQ(loaded->recipients[0].events[0].kind, "accepted");
  EXPECT_EQ(loaded->recipients[0].events[1].kind, "delivered");
  EXPECT_EQ(loaded->recipients[0].events[1].occurred_at_ms, 300);
  EXPECT_EQ(loaded->recipients[0].events[1].received_at_ms, 400);
  EXPECT_EQ(loaded->recipients[0].events[2].provider, "sendgrid");
  ASSERT_EQ(loaded->recipients[1].events.size(), 1u);
  EXPECT_EQ(loaded->recipients[1].events[0].detail, "undelivered: 30003 Unreachable destination handset");
  EXPECT_EQ(loaded->recipients[1].status, "queued") << "events never change a delivery's status";

  std::map<std::pair<std::string, std::string>, std::int64_t> counts;
  for (const auto& [key, count] : stores_->tracking().CountEventsByProviderAndKind()) counts[key] = count;
  EXPECT_EQ(counts, (std::map<std::pair<std::string, std::string>, std::int64_t>{
                        {{"sendgrid", "read"}, 1},
                        {{"twilio", "accepted"}, 1},
                        {{"twilio", "bounced"}, 1},
                        {{"twilio", "delivered"}, 1}}));
}

TEST_P(MessageContract, CampaignStatsCountEachRecipientOncePerReportedKind) {
  auto& campaigns = stores_->campaigns();
  const auto campaign = campaigns.CreateCampaign(Campaign(owner_), 100);
  const auto accepted = stores_->messages().Accept(
      {Message(owner_, "hi", {{"sms", "+15551230001"}}), Message(owner_, "hi", {{"sms", "+15551230002"}})}, 100);
  campaigns.LinkMessages(campaign.id, {{10, accepted[0].message.id}, {11, accepted[1].message.id}});
  const auto a = accepted[0].message.recipients[0].id;
  const auto b = accepted[1].message.recipients[0].id;
  stores_->tracking().RecordEvents({{"sendgrid", "e1", a, "delivered", "", 1},
                                    {"sendgrid", "e2", a, "read", "", 2},
                                    {"sendgrid", "e3", a, "read", "", 3},
                                    {"sendgrid", "e4", b, "bounced", "550 5.1.1", 4},
                                    {"sendgrid", "e5", b, "complained", "", 5}},
                                   10);
  const auto stats = campaigns.Stats(campaign.id);
  EXPECT_EQ(stats.delivered, 1);
  EXPECT_EQ(stats.read, 1) << "two opens by one recipient count once";
  EXPECT_EQ(stats.clicked, 0);
  EXPECT_EQ(stats.bounced, 1);
  EXPECT_EQ(stats.complained, 1);
  EXPECT_EQ(stats.total, 2) << "events add no recipients";
}

TEST_P(PacingContract, MessagesAreTakenOldestFirstAndClaimedOnceWithTheScheduleSavedAlongside) {
  auto& pacing = stores_->pacing();
  auto& deliveries = stores_->deliveries();
  const auto stored = pacing.Enqueue(
      {{owner_, "+15550000001", "a"}, {owner_, "+15550000002", "b"}, {owner_, "+15550000003", "c"}}, 100);
  ASSERT_EQ(stored.size(), 3u);
  EXPECT_EQ(stored[0].status, "queued");
  EXPECT_TRUE(deliveries.HasOpen(kPacedLane));
  EXPECT_FALSE(deliveries.HasOpen("sms")) << "paced messages are not in the API's SMS lane";
  const auto due = TakePaced(2, 100);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].content, "a");
  EXPECT_EQ(due[0].recipient.channel, "sms");
  EXPECT_EQ(due[0].recipient.address, "+15550000001");
  EXPECT_EQ(due[1].content, "b");
  EXPECT_EQ(TakePaced(5, 100, {due[0].recipient.id, due[1].recipient.id}).size(), 1u);

  const LaneSchedule schedule{.running = true, .next_release_at_ms = 120100};
  const auto a = due[0].recipient.id;
  const auto b = due[1].recipient.id;
  EXPECT_EQ(RecordAndClaim({}, {a, b, a}, 100, schedule), (std::vector<bool>{true, true, false}));
  EXPECT_EQ(pacing.Get(stored[0].id)->status, "sending");
  EXPECT_EQ(pacing.Get(stored[0].id)->attempts, 1);
  EXPECT_EQ(deliveries.LoadSchedule().next_release_at_ms, 120100);

  RecordAndClaim({{.recipient_id = a, .status = "sent", .provider_message_id = "SM1"},
                  {.recipient_id = b, .status = "queued", .detail = "busy", .retry_at_ms = 5000}},
                 {}, 200);
  EXPECT_EQ(pacing.Get(stored[0].id)->provider_message_id, "SM1");
  EXPECT_EQ(pacing.Get(stored[0].id)->sent_at_ms, 200);
  ASSERT_TRUE(deliveries.NextDueAt(kPacedLane));
  EXPECT_LE(*deliveries.NextDueAt(kPacedLane), 100) << "c is due now";
  const auto later = TakePaced(5, 4999);
  ASSERT_EQ(later.size(), 1u) << "b waits for its retry time";
  EXPECT_EQ(later[0].content, "c");
  const auto both = TakePaced(5, 5000);
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].content, "b") << "once due, the older message goes first though it is due later";
  RecordAndClaim({}, {later[0].recipient.id}, 300);
  EXPECT_EQ(deliveries.NextDueAt(kPacedLane), 5000) << "only b is queued, due at its retry time";
}

TEST_P(PacingContract, TheSentListIsNewestFirstPerOwnerAndOnlyHoldsPacedMessages) {
  auto& pacing = stores_->pacing();
  const auto stored = pacing.Enqueue({{owner_, "+15550000001", "a"}, {other_owner_, "+15550000002", "b"}}, 100);
  // An API SMS, sent too: neither in the paced list nor found as a paced message.
  const auto api = stores_->messages().Accept({Message(owner_, "api", {{"sms", "+15550000003"}})}, 100);
  const auto api_recipient = api[0].message.recipients[0].id;
  const auto ra = TakePaced(5, 100);
  ASSERT_EQ(ra.size(), 2u);
  RecordAndClaim({}, {ra[0].recipient.id, ra[1].recipient.id, api_recipient}, 100);
  RecordAndClaim({{.recipient_id = ra[0].recipient.id, .status = "sent"},
                  {.recipient_id = api_recipient, .status = "sent"}},
                 {}, 300);
  RecordAndClaim({{.recipient_id = ra[1].recipient.id, .status = "sent"}}, {}, 200);
  const auto all = pacing.ListSent(std::nullopt, 1, 10);
  EXPECT_EQ(all.total_count, 2);
  ASSERT_EQ(all.messages.size(), 2u);
  EXPECT_EQ(all.messages[0].id, stored[0].id);
  EXPECT_EQ(all.messages[0].to, "+15550000001");
  EXPECT_EQ(all.messages[1].id, stored[1].id);
  EXPECT_EQ(pacing.ListSent(other_owner_, 1, 10).total_count, 1);
  EXPECT_FALSE(pacing.Get(api[0].message.id)) << "an API message is not a paced one";
  EXPECT_EQ(stores_->messages().GetMessage(stored[0].id)->recipients.at(0).status, "sent")
      << "a paced message is a message";
}

// Two processes delivering the paced lane both try to begin the release after
// the one they saw: the first one's claims and schedule are stored; the second
// one's claims are refused (its outcomes still are), whatever rows it claims.
TEST_P(PacingContract, OnlyOneOfTwoProcessesBeginsARelease) {
  auto other = backend_->Open(clock_);
  const auto stored = stores_->pacing().Enqueue(
      {{owner_, "+15550000001", "a"}, {owner_, "+15550000002", "b"}, {owner_, "+15550000003", "c"}}, 100);
  stores_->deliveries().SaveSchedule({.running = true, .next_release_at_ms = 1000}, 100);
  const auto due = TakePaced(3, 1000);
  ASSERT_EQ(due.size(), 3u);
  const LaneSchedule first{.running = true, .next_release_at_ms = 121000, .only_if_unchanged = true,
                           .seen_release_at_ms = 1000};
  // Both began it at the same millisecond: only what each saw decides.
  const LaneSchedule second{.running = true, .next_release_at_ms = 121000, .only_if_unchanged = true,
                            .seen_release_at_ms = 1000};
  EXPECT_EQ(RecordAndClaim({}, {due[0].recipient.id}, 1000, first), std::vector<bool>{true});
  EXPECT_EQ(other->deliveries().RecordAndClaimMany({}, {due[1].recipient.id}, 1005, second), std::vector<bool>{false});
  EXPECT_EQ(stores_->deliveries().LoadSchedule().next_release_at_ms, 121000);
  EXPECT_EQ(stores_->pacing().Get(stored[1].id)->status, "queued");
  // The first goes on within its release, now expecting its own release time.
  LaneSchedule within = first;
  within.seen_release_at_ms = 121000;
  EXPECT_EQ(RecordAndClaim({}, {due[1].recipient.id}, 1010, within), std::vector<bool>{true});
  // The second, having adopted the saved schedule, begins the next release.
  const LaneSchedule adopted{.running = true, .next_release_at_ms = 241000, .only_if_unchanged = true,
                             .seen_release_at_ms = 121000};
  EXPECT_EQ(other->deliveries().RecordAndClaimMany({}, {due[2].recipient.id}, 121000, adopted), std::vector<bool>{true});
  EXPECT_EQ(stores_->deliveries().LoadSchedule().next_release_at_ms, 241000);
  // Stopped by another process (herald api): no claim goes through any more.
  stores_->deliveries().SaveSchedule({.running = false, .next_release_at_ms = 241000}, 121100);
  LaneSchedule after_stop = adopted;
  after_stop.seen_release_at_ms = 241000;
  const auto more = stores_->pacing().Enqueue({{owner_, "+15550000004", "d"}}, 121100);
  EXPECT_EQ(other->deliveries().RecordAndClaimMany({}, {TakePaced(1, 121100).at(0).recipient.id}, 121100, after_stop),
            std::vector<bool>{false});
  EXPECT_EQ(stores_->pacing().Get(more[0].id)->status, "queued");
}

TEST_P(PacingContract, TheScheduleSurvivesAReopenAndANewStoreRuns) {
  auto& deliveries = stores_->deliveries();
  EXPECT_TRUE(deliveries.LoadSchedule().running) << "a fresh data dir sends automatically (seed 001)";
  EXPECT_FALSE(deliveries.LoadSchedule().next_release_at_ms);
  deliveries.SaveSchedule({.running = false, .next_release_at_ms = 999}, 400);
  Reopen();
  EXPECT_FALSE(stores_->deliveries().LoadSchedule().running);
  EXPECT_EQ(stores_->deliveries().LoadSchedule().next_release_at_ms, 999);
}

TEST_P(PacingContract, SendsInterruptedByACrashBecomeUnknownAndAreNeverTakenAgain) {
  const auto stored = stores_->pacing().Enqueue({{owner_, "+15550000001", "a"}}, 100);
  RecordAndClaim({}, {TakePaced(1, 100).at(0).recipient.id}, 100);
  Reopen();
  EXPECT_EQ(stores_->deliveries().ResolveAbandoned(200, kNoOtherProcessAlive), 1);
  EXPECT_EQ(stores_->pacing().Get(stored[0].id)->status, "unknown");
  EXPECT_TRUE(TakePaced(5, 300).empty());
  EXPECT_FALSE(stores_->deliveries().HasOpen(kPacedLane));
  const auto counts = stores_->messages().CountByLaneAndStatus();
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts[0], (std::pair<std::pair<std::string, std::string>, std::int64_t>{{"paced", "unknown"}, 1}));
}

// Claims the deliveries for `run` and records their outcomes, as the engine does.
void ClaimAndRecord(CertificateStore& store, const std::vector<DeliveryUpdate>& updates,
                    const std::string& run = "run1") {
  std::vector<std::string> ids;
  for (const auto& update : updates) ids.push_back(update.id);
  ASSERT_EQ(store.RecordAndClaim({}, ids, run), std::vector<bool>(ids.size(), true));
  store.RecordAndClaim(updates, {}, run);
}

TEST_P(CertificateContract, InsertNewKeepsExistingRowsAndTheirState) {
  auto& store = stores_->certificates();
  EXPECT_EQ(store.InsertNew({Certificate("a"), Certificate("b")}), 2);
  ClaimAndRecord(store, {{.id = "a", .status = DeliveryStatus::kSent, .provider_id = "q1"}});
  EXPECT_EQ(store.InsertNew({Certificate("a"), Certificate("b"), Certificate("c")}), 1);
  EXPECT_EQ(store.Get("a")->status, DeliveryStatus::kSent);
  EXPECT_EQ(store.Get("a")->provider_id, "q1");
  EXPECT_EQ(store.Get("c")->status, DeliveryStatus::kQueued);
  EXPECT_EQ(store.GetMany({"c", "a", "missing"}).size(), 2u);
}

TEST_P(CertificateContract, OneTransactionClaimsManyAndSaysWhichWereStillQueued) {
  auto& store = stores_->certificates();
  store.InsertNew({Certificate("a"), Certificate("b"), Certificate("c")});
  store.CancelEvent("ai-ml", "test");
  store.InsertNew({Certificate("d"), Certificate("e")});
  store.ReviveCancelled({"b"});
  EXPECT_EQ(store.RecordAndClaim({}, {"a", "b", "d", "e", "e"}, "run1"),
            (std::vector<bool>{false, true, true, true, false}));
  EXPECT_EQ(store.Get("a")->status, DeliveryStatus::kCancelled);
  EXPECT_EQ(store.Get("e")->attempts, 1);
  EXPECT_EQ(store.Get("e")->status, DeliveryStatus::kSending);
}

TEST_P(CertificateContract, RecordAndClaimDoBothInOneStep) {
  auto& store = stores_->certificates();
  store.InsertNew({Certificate("a"), Certificate("b")});
  ASSERT_TRUE(store.RecordAndClaim({}, {"a"}, "run1")[0]);
  EXPECT_TRUE(
      store.RecordAndClaim({{.id = "a", .status = DeliveryStatus::kSent, .provider_id = "q"}}, {"b"}, "run1")[0]);
  EXPECT_EQ(store.Get("a")->status, DeliveryStatus::kSent);
  EXPECT_EQ(store.Get("b")->status, DeliveryStatus::kSending);
  EXPECT_FALSE(store.RecordAndClaim({}, {"a"}, "run1")[0]);  // already final
}

// A commit whose answer was lost, asked again by its run: the same claim, no
// second attempt; another run does not get it.
TEST_P(CertificateContract, AClaimAskedAgainByItsRunIsItsClaimStill) {
  auto& store = stores_->certificates();
  store.InsertNew({Certificate("a")});
  ASSERT_EQ(store.RecordAndClaim({}, {"a"}, "run1"), std::vector<bool>{true});
  EXPECT_EQ(store.RecordAndClaim({}, {"a"}, "run1"), std::vector<bool>{true});
  EXPECT_EQ(store.RecordAndClaim({}, {"a"}, "run2"), std::vector<bool>{false});
  EXPECT_EQ(store.Get("a")->attempts, 1);
  EXPECT_EQ(store.RecordAndClaim({}, {"a", "a"}, "run1"), (std::vector<bool>{true, false}));
}

TEST_P(CertificateContract, SendingRowsOfADeadRunBecomeUnknownAfterReopen) {
  stores_->certificates().InsertNew({Certificate("a"), Certificate("b"), Certificate("c")});
  stores_->certificates().RecordAndClaim({}, {"a", "b"}, "dead-run");
  stores_->certificates().RecordAndClaim({{.id = "b", .status = DeliveryStatus::kSent}}, {}, "dead-run");
  Reopen();
  auto& store = stores_->certificates();
  EXPECT_TRUE(store.ResolveAbandoned("dead-run", kNoOtherProcessAlive).empty())
      << "the current run's own claims are not abandoned";
  const auto abandoned = store.ResolveAbandoned("new-run", kNoOtherProcessAlive);
  ASSERT_EQ(abandoned.size(), 1u);
  EXPECT_EQ(abandoned[0].id, "a");
  EXPECT_EQ(store.Get("a")->status, DeliveryStatus::kUnknown);
  EXPECT_EQ(store.Get("b")->status, DeliveryStatus::kSent);
  EXPECT_EQ(store.Get("c")->status, DeliveryStatus::kQueued);
  EXPECT_TRUE(store.ResolveAbandoned("new-run", kNoOtherProcessAlive).empty());
}

// herald certificates beside herald worker processes: a run's sends stay its
// own while its process is seen alive (the heartbeat of the delivery store
// under the same claimant id), and become unknown once it is not.
TEST_P(CertificateContract, OnlyTheSendsOfARunWhoseProcessStoppedBecomeUnknown) {
  auto other = backend_->Open(clock_);
  auto& store = stores_->certificates();
  const auto& mine = stores_->deliveries().claimant();
  const auto& theirs = other->deliveries().claimant();
  store.InsertNew({Certificate("a"), Certificate("b"), Certificate("c")});
  ASSERT_EQ(store.RecordAndClaim({}, {"a"}, mine), std::vector<bool>{true});
  ASSERT_EQ(other->certificates().RecordAndClaim({}, {"b"}, theirs), std::vector<bool>{true});
  ASSERT_EQ(store.RecordAndClaim({}, {"c"}, "run-of-a-process-never-seen"), std::vector<bool>{true});
  stores_->deliveries().Heartbeat(1000);
  other->deliveries().Heartbeat(1000);

  auto abandoned = other->certificates().ResolveAbandoned(theirs, 900);
  ASSERT_EQ(abandoned.size(), 1u) << "both processes were seen at 1000";
  EXPECT_EQ(abandoned[0].id, "c");
  EXPECT_EQ(store.Get("a")->status, DeliveryStatus::kSending);

  other->deliveries().Heartbeat(10000);
  abandoned = other->certificates().ResolveAbandoned(theirs, 9000);
  ASSERT_EQ(abandoned.size(), 1u);
  EXPECT_EQ(abandoned[0].id, "a");
  EXPECT_EQ(store.Get("a")->status, DeliveryStatus::kUnknown);
  EXPECT_EQ(store.Get("b")->status, DeliveryStatus::kSending) << "a sweeper's own sends are never abandoned";
  EXPECT_TRUE(store.ResolveAbandoned(mine, 9000).empty()) << "the other was seen at 10000";
}

// A run presumed dead (its sends reported unknown, then retried by another
// run) that comes back records nothing over the other run's claim; a delivery
// that failed before its claim is recorded only while it is still queued.
TEST_P(CertificateContract, AnOutcomeIsRecordedOnlyWhileItsRunsClaimHolds) {
  auto& store = stores_->certificates();
  store.InsertNew({Certificate("a"), Certificate("b")});
  ASSERT_EQ(store.RecordAndClaim({}, {"a"}, "run1"), std::vector<bool>{true});
  ASSERT_EQ(store.ResolveAbandoned("run2", kNoOtherProcessAlive).size(), 1u);
  ASSERT_EQ(store.Requeue("ai-ml", {DeliveryStatus::kUnknown}), 1);
  ASSERT_EQ(store.RecordAndClaim({}, {"a"}, "run2"), std::vector<bool>{true});

  store.RecordAndClaim({{.id = "a", .status = DeliveryStatus::kFailed, .detail = "late"}}, {}, "run1");
  EXPECT_EQ(store.Get("a")->status, DeliveryStatus::kSending) << "run2's claim holds";
  store.RecordAndClaim({{.id = "a", .status = DeliveryStatus::kSent, .provider_id = "q2"}}, {}, "run2");
  EXPECT_EQ(store.Get("a")->status, DeliveryStatus::kSent);
  EXPECT_EQ(store.Get("a")->provider_id, "q2");
  store.RecordAndClaim({{.id = "a", .status = DeliveryStatus::kFailed, .detail = "late", .claimed = false}}, {},
                       "run1");
  EXPECT_EQ(store.Get("a")->status, DeliveryStatus::kSent) << "a final row is not recorded over";

  store.RecordAndClaim({{.id = "b", .status = DeliveryStatus::kFailed, .detail = "cannot render", .claimed = false}},
                       {}, "run1");
  EXPECT_EQ(store.Get("b")->status, DeliveryStatus::kFailed);
  EXPECT_EQ(store.Get("b")->last_error, "cannot render");
}

// A run that goes on delivering after one of its engines stopped without
// recording some outcomes: those rows become unknown, nobody else's do, and
// the run cannot claim them again.
TEST_P(CertificateContract, ARunsOwnUnrecordedSendsBecomeUnknownAndAreNotClaimedAgain) {
  auto& store = stores_->certificates();
  store.InsertNew({Certificate("a"), Certificate("b"), Certificate("c")});
  ASSERT_EQ(store.RecordAndClaim({}, {"a", "b"}, "run1"), (std::vector<bool>{true, true}));
  store.RecordAndClaim({{.id = "b", .status = DeliveryStatus::kSent}}, {}, "run1");
  ASSERT_EQ(store.RecordAndClaim({}, {"c"}, "run2"), std::vector<bool>{true});
  EXPECT_EQ(store.ResolveOwnUnrecorded("run1"), 1);
  EXPECT_EQ(store.Get("a")->status, DeliveryStatus::kUnknown);
  EXPECT_EQ(store.Get("b")->status, DeliveryStatus::kSent);
  EXPECT_EQ(store.Get("c")->status, DeliveryStatus::kSending);
  EXPECT_EQ(store.RecordAndClaim({}, {"a"}, "run1"), std::vector<bool>{false});
  EXPECT_EQ(store.ResolveOwnUnrecorded("run1"), 0);
}

TEST_P(CertificateContract, RequeueTakesOnlyTheNamedStatesOfOneEvent) {
  auto& store = stores_->certificates();
  store.InsertNew({Certificate("a"), Certificate("b"), Certificate("c"), Certificate("d", "other")});
  store.RecordAndClaim({}, {"a", "b", "c", "d"}, "run1");
  store.RecordAndClaim({{.id = "a", .status = DeliveryStatus::kFailed},
                        {.id = "b", .status = DeliveryStatus::kUnknown},
                        {.id = "c", .status = DeliveryStatus::kDead},
                        {.id = "d", .status = DeliveryStatus::kFailed}},
                       {}, "run1");
  EXPECT_EQ(store.Requeue("ai-ml", {DeliveryStatus::kFailed, DeliveryStatus::kDead}), 2);
  EXPECT_EQ(store.Get("a")->status, DeliveryStatus::kQueued);
  EXPECT_EQ(store.Get("c")->status, DeliveryStatus::kQueued);
  EXPECT_EQ(store.Get("b")->status, DeliveryStatus::kUnknown);
  EXPECT_EQ(store.Get("d")->status, DeliveryStatus::kFailed);
  EXPECT_EQ(store.OpenCount("ai-ml"), 2);
}

TEST_P(CertificateContract, PublishingFollowsCsvOrderAndReviveTouchesOnlyCancelledRows) {
  auto& store = stores_->certificates();
  store.InsertNew({Certificate("z", "ai-ml", 2), Certificate("a", "ai-ml", 3), Certificate("m", "other", 4)});
  EXPECT_EQ(store.UnpublishedIds("ai-ml"), (std::vector<std::string>{"z", "a"}));
  store.MarkPublished({"z"});
  EXPECT_EQ(store.UnpublishedIds("ai-ml"), (std::vector<std::string>{"a"}));
  store.ForgetPublished("ai-ml");
  EXPECT_EQ(store.UnpublishedIds("ai-ml"), (std::vector<std::string>{"z", "a"}));
  store.MarkPublished({"z", "a"});
  ClaimAndRecord(store, {{.id = "a", .status = DeliveryStatus::kSent}});
  store.CancelEvent("ai-ml", "removed");
  EXPECT_EQ(store.ReviveCancelled({"z", "a", "missing"}), 1);
  EXPECT_EQ(store.Get("z")->status, DeliveryStatus::kQueued);
  EXPECT_EQ(store.UnpublishedIds("ai-ml"), (std::vector<std::string>{"z"}));
}

TEST_P(CertificateContract, CancelEventTouchesOnlyQueuedRowsOfThatEvent) {
  auto& store = stores_->certificates();
  store.InsertNew({Certificate("a", "gone"), Certificate("b", "gone"), Certificate("c", "kept")});
  ClaimAndRecord(store, {{.id = "a", .status = DeliveryStatus::kSent}});
  EXPECT_EQ(store.CancelEvent("gone", "event removed"), 1);
  EXPECT_EQ(store.Get("b")->status, DeliveryStatus::kCancelled);
  EXPECT_EQ(store.Get("b")->last_error, "event removed");
  EXPECT_EQ(store.Get("a")->status, DeliveryStatus::kSent);
  EXPECT_EQ(store.OpenCount("kept"), 1);
  const auto counts = store.CountByEvent();
  EXPECT_EQ(counts.at("gone").at(DeliveryStatus::kCancelled), 1);
  EXPECT_EQ(counts.at("gone").at(DeliveryStatus::kSent), 1);
}

TEST_P(CertificateContract, TheLaneRegistryRoundTrips) {
  auto& store = stores_->certificates();
  store.SaveLane({"ai-ml", "AI/ML", "herald.certificates.ai-ml", R"({"out_dir":"/a"})"});
  store.SaveLane({"go", "Go", "herald.certificates.go"});
  store.SaveLane({"web", "Web", "herald.certificates.web", R"({"out_dir":"/old"})"});
  store.SaveLane({"web", "Web Day", "herald.certificates.web", R"({"out_dir":"/new"})"});
  store.DeleteLane("go");
  Reopen();
  const auto lanes = stores_->certificates().Lanes();
  ASSERT_EQ(lanes.size(), 2u);
  EXPECT_EQ(lanes[0].queue_name, "herald.certificates.ai-ml");
  EXPECT_EQ(lanes[0].job, R"({"out_dir":"/a"})");
  EXPECT_EQ(lanes[1].event_name, "Web Day");
  EXPECT_EQ(lanes[1].job, R"({"out_dir":"/new"})") << "a later run's job replaces the earlier one";
}

}  // namespace
}  // namespace herald::store::testing
