#include "channels/file/outbox_transport.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/process.hpp"

namespace herald::channels::file {
namespace {

TEST(OutboxTransport, WritesEachMessageAsAnEmlFileNamedAfterItsId) {
  herald::testing::TempDir dir;
  OutboxTransport outbox(dir.path() + "/outbox");
  const auto outcome = outbox.Send({"a@example.org", {"b@example.org"}, "abc@example.org", "Subject: x\r\n\r\nhi\r\n"});
  ASSERT_EQ(outcome.kind, domain::OutcomeKind::kAccepted);
  EXPECT_EQ(outcome.provider_message_id, "abc@example.org.eml");
  EXPECT_EQ(herald::testing::ReadFile(dir.path() + "/outbox/abc@example.org.eml"), "Subject: x\r\n\r\nhi\r\n");
}

TEST(OutboxTransport, SendingTheSameMessageIdAgainReplacesTheFile) {
  herald::testing::TempDir dir;
  OutboxTransport outbox(dir.path());
  outbox.Send({"a@example.org", {"b@example.org"}, "same@x", "one"});
  outbox.Send({"a@example.org", {"b@example.org"}, "same@x", "two"});
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "same@x.eml");  // no temporary files left behind
  }
  EXPECT_EQ(files, 1);
  EXPECT_EQ(herald::testing::ReadFile(dir.path() + "/same@x.eml"), "two");
}

TEST(OutboxTransport, HostileMessageIdsStayInsideTheOutbox) {
  EXPECT_EQ(OutboxFileName("../../etc/passwd"), "m.._.._etc_passwd.eml");
  EXPECT_EQ(OutboxFileName("a/b\\c"), "a_b_c.eml");
}

TEST(OutboxTransport, UnwritableFolderIsATransientFailure) {
  herald::testing::TempDir dir;
  OutboxTransport outbox(dir.path() + "/outbox");
  std::filesystem::remove_all(dir.path() + "/outbox");
  herald::testing::WriteFile(dir.path() + "/outbox", "a file, not a folder");
  const auto outcome = outbox.Send({"a@example.org", {"b@example.org"}, "x@y", "data"});
  EXPECT_EQ(outcome.kind, domain::OutcomeKind::kTransient);
}

}  // namespace
}  // namespace herald::channels::file
