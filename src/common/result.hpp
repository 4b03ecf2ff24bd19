// Result<T>: the value-or-error return type for expected failures on hot paths
// (a refused recipient, a bad CSV row). Member names follow std::expected so the
// type can be swapped for it once the toolchain has it.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace herald {

// A failure a caller can act on: `code` is stable and machine-readable
// (e.g. "csv.missing_header"), `message` is for people and names the file, line or field.
struct Error {
  std::string code;
  std::string message;
};

template <typename E>
class Unexpected {
 public:
  explicit Unexpected(E error) : error_(std::move(error)) {}
  E& error() & { return error_; }
  E&& error() && { return std::move(error_); }

 private:
  E error_;
};

inline Unexpected<Error> MakeError(std::string code, std::string message) {
  return Unexpected<Error>(Error{std::move(code), std::move(message)});
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit like std::expected
  Result(Unexpected<Error> error) : storage_(std::in_place_index<1>, std::move(error).error()) {}  // NOLINT

  bool has_value() const { return storage_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(storage_); }
  const T& value() const& { return std::get<0>(storage_); }
  T&& value() && { return std::get<0>(std::move(storage_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(storage_); }

 private:
  std::variant<T, Error> storage_;
};

// Result of an operation with no value: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Unexpected<Error> error) : error_(std::move(error).error()), ok_(false) {}  // NOLINT

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace herald
