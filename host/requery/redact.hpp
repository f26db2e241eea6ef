#pragma once
// Short, printable, credential-free excerpts of text a server sent (error bodies), for
// the Spotify backend's messages.
//
// A server may echo the request back: the Authorization header (the Basic encoding of
// "id:secret"), the secret itself, percent- or JSON-escaped, in any case. The rule:
//
//   - Server text is split into tokens: maximal runs of printable, non-space characters
//     other than the delimiters " ' , ; ( ) [ ] { } < > (a delimiter that occurs in a
//     credential belongs to tokens, so a credential is never split into two tokens).
//   - A token is replaced by "<redacted>" when, ignoring ASCII case, it contains any 4
//     consecutive characters of a sensitive string, or contains a whole sensitive string
//     as a word (not preceded or followed by a letter or digit). The second rule covers
//     secrets shorter than 4 characters without mangling every word that merely contains
//     one of their letters.
//   - Tokens are printed whole or not at all: an excerpt ends with "..." where the next
//     token would pass the length limit, so no excerpt shows a prefix of a token that was
//     not checked. Control characters and whitespace become one space, non-ASCII bytes '?'.
//
// Only server text goes through a redactor; the product's own wording around it is
// printed as it is and stays readable whatever the secret is.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace playaug::requery_detail {

/// base64 of `in` (RFC 4648, with padding), as HTTP Basic authentication sends it.
std::string base64(std::string_view in);

class redactor {
 public:
  /// Treat `s` as sensitive (no-op for an empty string).
  void add(std::string_view s);
  /// Treat a credential as sensitive: `s` itself, percent-encoded and JSON-escaped.
  void add_credential(std::string_view s);
  /// Treat the Basic credentials of `id`:`secret` as sensitive: the pair (from the last
  /// three characters of the id, so that the id alone, which is not secret, is not
  /// redacted from words such as "client") and its base64 encoding.
  void add_basic(std::string_view id, std::string_view secret);

  /// At most about `limit` printable characters of `text` (see the file comment).
  std::string excerpt(std::string_view text, std::size_t limit = 120) const;
  /// True when `token` (one token, see above) would be redacted.
  bool sensitive(std::string_view token) const;

 private:
  std::vector<std::string> strings_;           // lowercase
  std::unordered_set<std::string> grams_;      // lowercase 4-grams of strings_
  std::array<bool, 256> in_credential_{};      // bytes that occur in a sensitive string
};

}  // namespace playaug::requery_detail
