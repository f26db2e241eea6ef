// Messages that quote input: detail::printable (escaping and cutting) and data_error.

#include <gtest/gtest.h>

#include <string>

#include "playaug/error.hpp"

namespace {

using playaug::detail::printable;
using playaug::detail::printable_no_limit;

TEST(Printable, KeepsPrintableTextAsItIs) {
  EXPECT_EQ(printable("syn000001"), "syn000001");
  EXPECT_EQ(printable(""), "");
  EXPECT_EQ(printable("a b,c\"d'e\\f"), "a b,c\"d'e\\f");
  EXPECT_EQ(printable("caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x8E\xB5"), "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x8E\xB5");
}

TEST(Printable, EscapesTerminalControls) {
  EXPECT_EQ(printable("\x1B[2J\x1B[31mred"), "\\e[2J\\e[31mred");
  EXPECT_EQ(printable("a\tb\nc\rd"), "a\\tb\\nc\\rd");
  EXPECT_EQ(printable(std::string("nul\0x", 5)), "nul\\x00x");
  EXPECT_EQ(printable("\x01\x1F\x7F"), "\\x01\\x1F\\x7F");
  // C1 controls encoded in UTF-8 (U+009B is CSI on some terminals), and marks that
  // reorder or hide text.
  EXPECT_EQ(printable("\xC2\x9B" "2J"), "\\u009B2J");
  EXPECT_EQ(printable("\xC2\x85"), "\\u0085");
  EXPECT_EQ(printable("abc\xE2\x80\xAE" "cba"), "abc\\u202Ecba");
  EXPECT_EQ(printable("\xE2\x81\xA6x\xE2\x81\xA9"), "\\u2066x\\u2069");
  EXPECT_EQ(printable("\xEF\xBB\xBFid"), "\\uFEFFid");
  EXPECT_EQ(printable("\xE2\x80\xA8"), "\\u2028");
}

TEST(Printable, EscapesInvalidUtf8ByteByByte) {
  EXPECT_EQ(printable("\xFF\xFE"), "\\xFF\\xFE");
  EXPECT_EQ(printable("\x9B" "2J"), "\\x9B2J");           // a lone C1 byte
  EXPECT_EQ(printable("\xC0\x80"), "\\xC0\\x80");          // overlong NUL
  EXPECT_EQ(printable("\xE0\x80\xAF"), "\\xE0\\x80\\xAF");  // overlong '/'
  EXPECT_EQ(printable("\xED\xA0\x80"), "\\xED\\xA0\\x80");  // a surrogate
  EXPECT_EQ(printable("\xF4\x90\x80\x80"), "\\xF4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(printable("\xE6\x97"), "\\xE6\\x97");          // cut short at the end
  EXPECT_EQ(printable("\xE6\x97x"), "\\xE6\\x97x");        // cut short before ASCII
}

TEST(Printable, CutsLongTextWithItsSize) {
  EXPECT_EQ(printable(std::string(64, 'a')), std::string(64, 'a'));
  EXPECT_EQ(printable(std::string(65, 'a')), std::string(64, 'a') + "... (65 bytes)");
  const std::string huge(10'000'000, 'x');
  const std::string shown = printable(huge);
  EXPECT_EQ(shown, std::string(64, 'x') + "... (10000000 bytes)");
  EXPECT_EQ(printable(huge, 5), "xxxxx... (10000000 bytes)");
  EXPECT_EQ(printable(huge, printable_no_limit).size(), huge.size());
}

TEST(Printable, CutsOnCharacterBoundaries) {
  std::string e_acute;
  for (int i = 0; i < 70; ++i) e_acute += "\xC3\xA9";
  std::string want;
  for (int i = 0; i < 64; ++i) want += "\xC3\xA9";
  EXPECT_EQ(printable(e_acute), want + "... (140 bytes)");
  // An escape counts as one character and is never split.
  EXPECT_EQ(printable("ab\x1B[2J", 3), "ab\\e... (6 bytes)");
  EXPECT_EQ(printable("\xFF\xFF\xFF", 2), "\\xFF\\xFF... (3 bytes)");
}

TEST(Printable, IsIdempotent) {
  for (const std::string& s : {std::string("\x1B[2Jx\xFF\xC2\x9B\xE2\x80\xAE"), std::string("plain \\e text"),
                              std::string("\t\n")}) {
    const std::string once = printable(s, printable_no_limit);
    EXPECT_EQ(printable(once, printable_no_limit), once) << once;
  }
}

TEST(DataError, EscapesAndCutsWhatItQuotes) {
  const std::string id = "\x1B]0;owned\x07" + std::string(1000, 'z');
  const playaug::data_error e("in\x1B[2J.csv", 7, "features: expected a number, found byte 0x1b", id);
  const std::string what = e.what();
  EXPECT_EQ(what.find('\x1B'), std::string::npos) << what;
  EXPECT_EQ(what.find('\x07'), std::string::npos) << what;
  EXPECT_EQ(what.rfind("in\\e[2J.csv:7: features: expected a number, found byte 0x1b (playlist '\\e]0;owned\\x07zz", 0), 0u)
      << what;
  EXPECT_NE(what.find("... (1010 bytes)')"), std::string::npos) << what;
  EXPECT_LT(what.size(), 200u);
  // The parts stay as given, for callers that handle them themselves.
  EXPECT_EQ(e.playlist(), id);
  EXPECT_EQ(e.file(), "in\x1B[2J.csv");
  EXPECT_EQ(e.line(), 7u);
}

TEST(DataError, PlainMessagesAreUnchanged) {
  const playaug::data_error e("bad.csv", 3, "features: expected a number, found 'o' at column 22", "bad2");
  EXPECT_STREQ(e.what(), "bad.csv:3: features: expected a number, found 'o' at column 22 (playlist 'bad2')");
  const playaug::data_error whole("m.json", 0, "invalid PCA model: missing \"mean\"");
  EXPECT_STREQ(whole.what(), "m.json: invalid PCA model: missing \"mean\"");
}

}  // namespace
