// MessageLane: the API's and the campaigns' messages of one channel (sms,
// whatsapp, email, telegram: seed 004's routing) as a lane of the delivery
// engine. The store's recipients table is the queue: due rows are read, claimed
// in batches, and their outcomes recorded with the next claims. E-mail is
// rendered to MIME (text, HTML alternative) here; other channels send the text.
#pragma once

#include <mutex>
#include <set>
#include <string>

#include "common/clock.hpp"
#include "dispatch/held_set.hpp"
#include "dispatch/lane.hpp"
#include "mime/email_message.hpp"
#include "store/message_delivery_store.hpp"

namespace herald::dispatch {

class MessageLane final : public Lane {
 public:
  // `from` is the sender of e-mail (ignored for other channels).
  MessageLane(store::MessageDeliveryStore& store, std::string channel, mime::Mailbox from, const Clock& clock);

  const std::string& Name() const override { return channel_; }
  std::vector<std::shared_ptr<WorkItem>> Take(int max) override;
  Result<channels::RenderedMessage> Render(WorkItem& item) override;
  std::vector<bool> Commit(std::span<const Finished> finished,
                           std::span<const std::shared_ptr<WorkItem>> claims) override;
  void Settle(std::span<const Finished> finished) override;
  std::optional<Clock::TimePoint> NextDue() override;
  bool HasOpenWork() override;

 private:
  store::MessageDeliveryStore& store_;
  const std::string channel_;
  const mime::Mailbox from_;
  const std::string message_id_domain_;
  const Clock& clock_;
  HeldSet held_;
};

}  // namespace herald::dispatch
