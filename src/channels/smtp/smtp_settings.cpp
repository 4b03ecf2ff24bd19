#include "channels/smtp/smtp_settings.hpp"

#include "common/text.hpp"

namespace herald::channels::smtp {
namespace {

Result<std::string> PercentDecode(std::string_view in, std::string_view what) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (i + 2 >= in.size() || hex(in[i + 1]) < 0 || hex(in[i + 2]) < 0) {
      return MakeError("smtp_url.invalid", "bad percent-encoding in the " + std::string(what));
    }
    out += static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2]));
    i += 2;
  }
  return out;
}

}  // namespace

std::string SmtpSettings::Describe() const {
  return std::string(tls == TlsMode::kImplicit ? "smtps://" : "smtp://") + host + ":" + std::to_string(port);
}

Result<SmtpSettings> ParseSmtpUrl(std::string_view url) {
  SmtpSettings settings;
  auto fail = [](const std::string& message) { return MakeError("smtp_url.invalid", message); };
  std::string_view rest;
  if (url.rfind("smtp://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("smtps://", 0) == 0) {
    rest = url.substr(8);
    settings.tls = TlsMode::kImplicit;
    settings.port = 465;
  } else {
    return fail("the SMTP URL must start with smtp:// or smtps://");
  }
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const auto userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = userinfo.find(':');
    auto user = PercentDecode(userinfo.substr(0, colon), "user name");
    if (!user) return Unexpected<Error>(user.error());
    settings.username = *user;
    if (colon != std::string_view::npos) {
      auto password = PercentDecode(userinfo.substr(colon + 1), "password");
      if (!password) return Unexpected<Error>(password.error());
      settings.password = *password;
    }
  }
  if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    const std::string port_text(rest.substr(colon + 1));
    char* end = nullptr;
    const long port = std::strtol(port_text.c_str(), &end, 10);
    if (port_text.empty() || *end != '\0' || port < 1 || port > 65535) {
      return fail("the port \"" + port_text + "\" is not a number from 1 to 65535");
    }
    settings.port = static_cast<int>(port);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return fail("the SMTP URL has no host");
  settings.host = std::string(rest);
  for (const auto& parameter : text::Split(query, '&')) {
    if (parameter.empty()) continue;
    const auto eq = parameter.find('=');
    const auto key = parameter.substr(0, eq);
    const auto value = eq == std::string::npos ? std::string() : parameter.substr(eq + 1);
    if (key == "starttls") {
      if (value == "required") settings.tls = TlsMode::kRequired;
      else if (value == "off") settings.tls = TlsMode::kNone;
      else if (value == "auto") settings.tls = TlsMode::kOpportunistic;
      else return fail("starttls must be required, auto or off, got \"" + value + "\"");
      if (settings.port == 465 && url.rfind("smtps://", 0) == 0) return fail("starttls does not apply to smtps://");
    } else if (key == "verify") {
      if (value != "true" && value != "false") return fail("verify must be true or false");
      settings.verify_peer = value == "true";
    } else if (key == "ca") {
      auto path = PercentDecode(value, "ca path");
      if (!path) return Unexpected<Error>(path.error());
      settings.ca_file = *path;
    } else if (key == "helo") {
      settings.helo_name = value;
    } else {
      return fail("unknown SMTP URL parameter \"" + key + "\" (known: starttls, verify, ca, helo)");
    }
  }
  return settings;
}

}  // namespace herald::channels::smtp
