// Credential-free excerpts of server text (redact.hpp).

#include "redact.hpp"

#include "http.hpp"

#include <algorithm>
#include <cstdio>

namespace playaug::requery_detail {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

bool alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool delimiter(unsigned char c) {
  switch (c) {
    case '"': case '\'': case ',': case ';': case '(': case ')':
    case '[': case ']': case '{': case '}': case '<': case '>':
      return true;
    default:
      return false;
  }
}

bool printable(unsigned char c) { return c > 0x20 && c < 0x7f; }

// The body of a JSON string literal holding `s`; `slash` also escapes '/' as "\/".
std::string json_escaped(std::string_view s, bool slash) {
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '/':
        out += slash ? "\\/" : "/";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(ch);
        }
    }
  }
  return out;
}

}  // namespace

std::string base64(std::string_view in) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(in[k])); };
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], tbl[v & 63]};
  }
  if (i + 1 == in.size()) {
    const unsigned v = byte(i) << 16;
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], '='};
  }
  return out;
}

void redactor::add(std::string_view s) {
  if (s.empty()) return;
  std::string low = lowered(s);
  if (std::find(strings_.begin(), strings_.end(), low) != strings_.end()) return;
  for (std::size_t i = 0; i + 4 <= low.size(); ++i) grams_.insert(low.substr(i, 4));
  for (const char c : s) in_credential_[static_cast<unsigned char>(c)] = true;
  strings_.push_back(std::move(low));
}

void redactor::add_credential(std::string_view s) {
  add(s);
  add(http_client::escape(s));  // as a form body or query sends it
  add(json_escaped(s, false));
  add(json_escaped(s, true));
}

void redactor::add_basic(std::string_view id, std::string_view secret) {
  if (secret.empty()) return;
  const std::string pair = std::string(id) + ":" + std::string(secret);
  add(std::string_view(pair).substr(id.size() > 3 ? id.size() - 3 : 0));
  add(base64(pair));
}

bool redactor::sensitive(std::string_view token) const {
  const std::string low = lowered(token);
  std::string gram(4, '\0');
  for (std::size_t i = 0; i + 4 <= low.size(); ++i) {
    gram.assign(low, i, 4);
    if (grams_.count(gram) != 0) return true;
  }
  for (const std::string& s : strings_) {
    for (std::size_t p = low.find(s); p != std::string::npos; p = low.find(s, p + 1)) {
      const bool starts = p == 0 || !alnum(low[p - 1]);
      const bool ends = p + s.size() == low.size() || !alnum(low[p + s.size()]);
      if (starts && ends) return true;
    }
  }
  return false;
}

std::string redactor::excerpt(std::string_view text, std::size_t limit) const {
  auto token_char = [&](unsigned char c) { return in_credential_[c] || (printable(c) && !delimiter(c)); };
  std::string out;
  bool space = false;  // whitespace seen since the last piece
  // The excerpt so far, marked as cut.
  auto cut = [&] {
    out += out.empty() ? "..." : " ...";
    return out;
  };
  // Append `piece` unless it would pass the limit; false when the excerpt is full.
  auto put = [&](std::string_view piece) {
    const std::size_t sep = space && !out.empty() ? 1 : 0;
    if (out.size() + sep + piece.size() > limit) return false;
    if (sep) out.push_back(' ');
    space = false;
    out += piece;
    return true;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (token_char(c)) {
      std::size_t j = i;
      while (j < text.size() && token_char(static_cast<unsigned char>(text[j]))) ++j;
      const std::string_view token = text.substr(i, j - i);
      i = j;
      if (token.size() > limit) return cut();  // a token is never shown in part
      if (sensitive(token)) {
        if (!put("<redacted>")) return cut();
        continue;
      }
      std::string shown(token);
      for (char& ch : shown) {
        if (!printable(static_cast<unsigned char>(ch))) ch = '?';
      }
      if (!put(shown)) return cut();
    } else {
      ++i;
      if (c <= 0x20 || c == 0x7f) {
        space = true;
      } else if (!put(std::string(1, c >= 0x80 ? '?' : static_cast<char>(c)))) {
        return cut();
      }
    }
  }
  return out;
}

}  // namespace playaug::requery_detail
