// CertificateStore: the durable record of the certificate job — one row per
// (event, student) with its delivery state, plus the registry of event lanes the
// job created. It is the source of truth that makes re-runs send nothing twice.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "domain/delivery_state.hpp"

namespace herald::store {

struct CertificateDelivery {
  std::string id;              // stable: derived from the event and the normalised e-mail
  std::string certificate_id;  // printed on the certificate, for verification
  std::string event_name;
  std::string event_slug;
  std::string student_name;
  std::string email;
  std::string variables_json;  // template variables from the CSV row, as a JSON object
  int csv_line = 0;
  domain::DeliveryStatus status = domain::DeliveryStatus::kQueued;
  int attempts = 0;
  std::string last_error;
  std::string provider_id;
  std::string message_id;
  std::string pdf_path;
  std::int64_t updated_at_ms = 0;
};

struct DeliveryUpdate {
  std::string id;
  domain::DeliveryStatus status;
  std::string detail;       // last_error for failures, reply text for successes
  std::string provider_id;  // when sent
  std::string message_id;
  std::string pdf_path;
  // Whether the outcome is of a send this run claimed (it is recorded only
  // while the row is still that claim: a run presumed dead, whose sends were
  // reported unknown and perhaps retried by another, records nothing), or of
  // a delivery that failed before its claim (recorded only while still queued).
  bool claimed = true;
};

struct EventLane {
  std::string slug;
  std::string event_name;
  std::string queue_name;
  // What delivering the lane needs, as JSON (certificates::CertificateJob),
  // when processes other than the run that queued it may deliver it; else empty.
  std::string job;
};

using StatusCounts = std::map<domain::DeliveryStatus, std::int64_t>;

class CertificateStore {
 public:
  virtual ~CertificateStore() = default;

  // Inserts rows whose id is not yet present; existing rows keep their state.
  // Returns how many were new.
  virtual std::int64_t InsertNew(const std::vector<CertificateDelivery>& rows) = 0;
  // Rows among ids that were cancelled (their event was removed and has now been
  // listed again) go back to queued; returns how many.
  virtual std::int64_t ReviveCancelled(const std::vector<std::string>& ids) = 0;
  // Queued rows of an event not yet handed to the queue (or handed over by a run
  // that died before recording it).
  virtual std::vector<std::string> UnpublishedIds(const std::string& event_slug) = 0;
  virtual void MarkPublished(const std::vector<std::string>& ids) = 0;
  // Makes the event's queued rows count as not yet handed over (its lane lost them).
  virtual void ForgetPublished(const std::string& event_slug) = 0;

  virtual std::optional<CertificateDelivery> Get(const std::string& id) = 0;
  virtual std::vector<CertificateDelivery> GetMany(const std::vector<std::string>& ids) = 0;

  // Records outcomes and claims deliveries (queued -> sending for this run, one
  // more attempt) in one transaction: the delivery engine's group commit. Returns,
  // per claim, whether it was still queued, or is this run's claim already (a
  // commit whose answer was lost, asked again: the lane holds each delivery
  // once, so this is that same claim). An id asked twice in one call is claimed once.
  virtual std::vector<bool> RecordAndClaim(const std::vector<DeliveryUpdate>& updates, const std::vector<std::string>& claim_ids,
                                           const std::string& run_id) = 0;
  // Rows left in `sending` by a run that stopped: their outcome is unknown. A
  // run's id is its process's claimant id (MessageDeliveryStore::claimant),
  // so a run whose process was seen alive since `alive_since_ms` (a heartbeat
  // in the same store) is left alone; kNoOtherProcessAlive resolves every
  // other run's. Marks them unknown and returns them.
  virtual std::vector<CertificateDelivery> ResolveAbandoned(const std::string& current_run_id,
                                                            std::int64_t alive_since_ms) = 0;
  // The rows a run's own delivery left in `sending` when it stopped without
  // recording their outcome (the store failed meanwhile), for a run that goes
  // on delivering under the same id: marked unknown, never sent again.
  // Returns how many. Only while none of the run's sends is in flight.
  virtual std::int64_t ResolveOwnUnrecorded(const std::string& run_id) = 0;
  // Puts the event's rows in `statuses` back to queued, not yet handed to their
  // lane, with a fresh count of attempts: a retry the user asked for. Returns how many.
  virtual std::int64_t Requeue(const std::string& event_slug, const std::vector<domain::DeliveryStatus>& statuses) = 0;
  // Cancels every queued row of an event (its lane was removed).
  virtual std::int64_t CancelEvent(const std::string& event_slug, const std::string& reason) = 0;

  virtual std::map<std::string, StatusCounts> CountByEvent() = 0;
  // Rows of the event still queued or being sent.
  virtual std::int64_t OpenCount(const std::string& event_slug) = 0;

  virtual void SaveLane(const EventLane& lane) = 0;
  virtual std::vector<EventLane> Lanes() = 0;
  virtual void DeleteLane(const std::string& slug) = 0;
};

}  // namespace herald::store
