#include "channels/file/outbox_channel.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>

#include "common/io_runtime.hpp"
#include "tests/support/process.hpp"

namespace herald::channels::file {
namespace {

RenderedMessage Email(const std::string& message_id, const std::string& mime) {
  RenderedMessage message;
  message.channel = "email";
  message.to = "b@example.org";
  message.envelope_from = "a@example.org";
  message.message_id = message_id;
  message.mime = mime;
  return message;
}

class OutboxChannelTest : public ::testing::Test {
 protected:
  domain::DeliveryOutcome Send(OutboxChannel& outbox, const RenderedMessage& message) {
    return SendAndWait(runtime_.executor(), outbox, message);
  }
  IoRuntime runtime_;
  herald::testing::TempDir dir_;
};

TEST_F(OutboxChannelTest, WritesEachMessageAsAnEmlFileNamedAfterItsId) {
  OutboxChannel outbox(dir_.path() + "/outbox", runtime_.blocking());
  const auto outcome = Send(outbox, Email("abc@example.org", "Subject: x\r\n\r\nhi\r\n"));
  ASSERT_EQ(outcome.kind, domain::OutcomeKind::kAccepted);
  EXPECT_EQ(outcome.provider_message_id, "abc@example.org.eml");
  EXPECT_EQ(herald::testing::ReadFile(dir_.path() + "/outbox/abc@example.org.eml"), "Subject: x\r\n\r\nhi\r\n");
}

TEST_F(OutboxChannelTest, ABatchGivesOneOutcomePerMessageInOrder) {
  OutboxChannel outbox(dir_.path(), runtime_.blocking());
  std::vector<RenderedMessage> batch;
  for (int i = 0; i < 5; ++i) batch.push_back(Email("m" + std::to_string(i) + "@x", "body " + std::to_string(i)));
  const auto outcomes = boost::asio::co_spawn(
                            runtime_.executor(),
                            outbox.Send(batch, std::chrono::steady_clock::now() + std::chrono::seconds(10)),
                            boost::asio::use_future)
                            .get();
  ASSERT_EQ(outcomes.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(outcomes[i].provider_message_id, "m" + std::to_string(i) + "@x.eml");
    EXPECT_EQ(herald::testing::ReadFile(dir_.path() + "/m" + std::to_string(i) + "@x.eml"), "body " + std::to_string(i));
  }
}

TEST_F(OutboxChannelTest, SendingTheSameMessageIdAgainReplacesTheFile) {
  OutboxChannel outbox(dir_.path(), runtime_.blocking());
  Send(outbox, Email("same@x", "one"));
  Send(outbox, Email("same@x", "two"));
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "same@x.eml");  // no temporary files left behind
  }
  EXPECT_EQ(files, 1);
  EXPECT_EQ(herald::testing::ReadFile(dir_.path() + "/same@x.eml"), "two");
}

TEST(OutboxFileName, HostileMessageIdsStayInsideTheOutbox) {
  EXPECT_EQ(OutboxFileName("../../etc/passwd"), "m.._.._etc_passwd.eml");
  EXPECT_EQ(OutboxFileName("a/b\\c"), "a_b_c.eml");
}

TEST_F(OutboxChannelTest, UnwritableFolderIsATransientFailure) {
  OutboxChannel outbox(dir_.path() + "/outbox", runtime_.blocking());
  std::filesystem::remove_all(dir_.path() + "/outbox");
  herald::testing::WriteFile(dir_.path() + "/outbox", "a file, not a folder");
  const auto outcome = Send(outbox, Email("x@y", "data"));
  EXPECT_EQ(outcome.kind, domain::OutcomeKind::kTransient);
}

}  // namespace
}  // namespace herald::channels::file
