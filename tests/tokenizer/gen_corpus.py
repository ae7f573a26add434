#!/usr/bin/python3
"""Writes data/corpus.jsonl: the tokenizer parity corpus (one JSON string per line).

Deterministic (fixed seed). It mixes hand-written lines for the hard cases (contractions,
special-token text inside user text, whitespace that Rust and JavaScript classify differently,
NFC-sensitive text) with random lines drawn from pools of scripts, code, emoji and digits.
Re-run it and then make_fixtures.mjs whenever it changes:
    /usr/bin/python3 tests/tokenizer/gen_corpus.py && node tests/tokenizer/make_fixtures.mjs
"""
import json
import os
import random

rng = random.Random(20261122)

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "It's a truth universally acknowledged that we'll need more tests.",
    "I'm sure they've done it; you'd think she's right, but he isn't.",
    "DON'T SHOUT! IT'S LOUD. WE'LL SEE. THEY'VE GONE. I'D LIKE THAT.",
    "Mixed Case: It'S, We'Ll, They'Re, You'Ve, I'M, She'D.",
    "Curly quotes: it’s, we’ll, “quoted”, ‘single’ — and an en–dash.",
    "Long s and Kelvin: it'ſ, '\u212a, 'ﬆ ligature, straße, ΣΊΣΥΦΟΣ.",
    "Email me at someone@example.com or visit https://example.org/path?q=1&r=2#frag.",
    "Version 1.2.3-beta+build.45, price $1,234.56 (≈ €1.100,00), 50% off!!!",
    "Hello,world!How are you?I'm fine...thanks;really:yes",
    "   leading spaces and trailing spaces   ",
    "tabs\tin\tthe\tmiddle\t\tand\t\t\tmore",
    "line one\nline two\n\nline four\n\n\n\nline eight",
    "windows\r\nline\r\nendings\r\n\r\n",
    "a  b   c    d     e      f       g        h",
    "Ünïcödé àccents, naïve café, résumé, coöperate, Zürich, São Paulo.",
    "Ελληνικά: Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο.",
    "Русский: Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "עברית: דג סקרן שט בים מאוכזב ולפתע מצא חברה.",
    "العربية: نص حكيم له سر قاطع وذو شأن عظيم مكتوب على ثوب أخضر.",
    "हिन्दी: ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले।",
    "ไทย: เป็นมนุษย์สุดประเสริฐเลิศคุณค่า กว่าบรรดาฝูงสัตว์เดรัจฉาน",
    "Tiếng Việt: Tôi có thể ăn thủy tinh mà không hại gì.",
]
KOREAN = [
    "안녕하세요, 만나서 반갑습니다.", "한국어 토크나이저 테스트입니다!", "다람쥐 헌 쳇바퀴에 타고파.",
    "서울특별시 강남구 테헤란로 123번길", "오늘 날씨가 정말 좋네요 ㅎㅎㅋㅋ", "ㄱㄴㄷㄹㅁㅂㅅㅇ ㅏㅑㅓㅕ",
]
CHINESE = [
    "你好，世界！", "我能吞下玻璃而不伤身体。", "深度求索发布了新的推理模型。", "機器學習與自然語言處理",
    "这是一个测试句子，包含标点符号：“引号”、《书名号》……", "中华人民共和国成立于1949年10月1日。",
    "简体中文和繁體中文混合在一起", "龘靐齉齾爩鱻麤龗灪龖厵滟", "𠀀𠀁𠀂𪚥𪛖 (CJK Extension B)",
]
JAPANESE = [
    "こんにちは、世界！", "私はガラスを食べられます。それは私を傷つけません。", "カタカナとひらがなと漢字。",
    "東京都渋谷区神南１－２－３", "ｶﾀｶﾅ半角カナ ﾃｽﾄ", "いろはにほへと ちりぬるを わかよたれそ つねならむ",
    "ー〜・「」『』【】〒", "ヴァイオリンをひくのがすきです",
]
CODE = [
    "def f(x):\n\treturn x ** 2  # square\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i];\n}",
    "if __name__ == \"__main__\":\n    main()\n",
    "const re = /\\s+(?!\\S)/gu; // lookahead\r\nconsole.log(`${a}+${b}`);",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; }",
    "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%son' ORDER BY id DESC;",
    "    if (x != y && z <= w || !flag) { return -1; }",
    "\t\t\tdeeply\t\tindented\ttabs",
    "fn main() -> Result<(), Box<dyn Error>> { let v: Vec<u8> = vec![0xff; 16]; Ok(()) }",
    "x=1;y=2;z=x+y;print(z)#comment",
    "<div class=\"note\">&lt;b&gt;bold&lt;/b&gt; &amp; more</div>",
    "{\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}",
    "$ git commit -m 'fix: handle CRLF' && git push origin main",
    "λx. x + 1; let café = 3; int größe = 4;",
    "__init__ __name__ _private snake_case camelCase PascalCase SCREAMING_CASE",
    "a->b; c::d; e=>f; g<=h; i>=j; k!=l; m==n; o===p; q!==r;",
]
EMOJI = [
    "👨‍👩‍👧‍👦", "👩🏽‍💻", "🏳️‍🌈", "🇰🇷🇺🇸🇯🇵🇨🇳🇩🇪", "1️⃣2️⃣#️⃣", "❤️‍🔥", "🧑🏿‍🤝‍🧑🏻",
    "😀😃😄😁😆😅🤣😂", "👍🏻👍🏼👍🏽👍🏾👍🏿", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "✌️☺️♥️", "🐕‍🦺", "🫠🫡🫢🫣",
]
DIGITS = [
    "1234567890", "12345678901234567890123456789012345678901234567890", "3.14159265358979323846",
    "1,000,000", "0x1F4A9", "2026-11-22T11:02:39Z", "+1 (555) 123-4567", "١٢٣٤٥٦٧٨٩٠",
    "１２３４５", "²³¹⁴", "ⅠⅡⅢⅫ", "①②③", "९८७६", "0.000001e-10", "007", "99999999999",
]
SPECIAL = [
    "<｜User｜>", "<｜Assistant｜>", "<think>", "</think>", "<|im_start|>", "<|im_end|>",
    "<|endoftext|>", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<tool_call>", "</tool_call>",
    "<｜tool▁calls▁begin｜>", "<｜tool▁sep｜>", "<|fim_prefix|>", "<|vision_start|>", "<｜User", "<think",
    "</think", "<|im_start", "｜>", "<｜<｜User｜>｜>", "<think><think>", "<|im_end|><|im_end|>",
]
WHITESPACE = [
    " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "\r", " \n ", "\u00a0", "\u3000", "\u2003", "\u0085",
    "\ufeff", "\u200b", "\u2028", "\u2029", "\u000b", "\u000c", "\u180e", "\u202f", "\u205f", "\u1680",
]
ODD = [
    "\ue000", "\uf8ff", "\U000f0000", "\U0010fffd", "\ufffd", "\ufffd\ufffd", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝟘𝟙𝟚",
    "𐌰𐌱𐌲", "\u0301", "e\u0301", "A\u030a", "\u1100\u1161\u11a8", "\uac00", "ﬁ", "Å", "\u212b", "ǅ",
    "\u0000", "\u007f", "\u0001\u0002", "\U0001f9ff", "\U000e0041", "‮rtl override‬", "\u00ad",
    "ﷺ", "ﷻ", "\u0e01\u0e34\u0e4a", "\u0915\u094d\u0937", "ꙮ", "\U0001d11e", "\U00020000",
]
WORDS = (" ".join(ENGLISH) + " " + " ".join(CODE)).split()


def pick(pool):
    return rng.choice(pool)


def random_piece():
    kind = rng.randrange(10)
    if kind == 0:
        return pick(KOREAN)
    if kind == 1:
        return pick(CHINESE)
    if kind == 2:
        return pick(JAPANESE)
    if kind == 3:
        return pick(EMOJI)
    if kind == 4:
        return pick(DIGITS)
    if kind == 5:
        return pick(SPECIAL)
    if kind == 6:
        return pick(WHITESPACE) * rng.randrange(1, 4)
    if kind == 7:
        return pick(ODD)
    if kind == 8:
        return pick(CODE)
    return " ".join(pick(WORDS) for _ in range(rng.randrange(1, 6)))


def random_line():
    parts = []
    for _ in range(rng.randrange(1, 7)):
        parts.append(random_piece())
        sep = rng.randrange(6)
        parts.append(["", " ", "  ", "\n", "\t", "\r\n"][sep])
    return "".join(parts)


def random_chars(n):
    """Random code points from mixed ranges (every plane that is valid text)."""
    ranges = [(0x20, 0x7e), (0xa0, 0x24f), (0x300, 0x36f), (0x370, 0x3ff), (0x400, 0x4ff),
              (0x590, 0x6ff), (0x900, 0x97f), (0xe00, 0xe7f), (0x1100, 0x11ff), (0x2000, 0x206f),
              (0x20a0, 0x214f), (0x2190, 0x23ff), (0x3000, 0x30ff), (0x4e00, 0x9fff), (0xac00, 0xd7a3),
              (0xe000, 0xf8ff), (0xfe00, 0xfe0f), (0xff00, 0xffef), (0x1f300, 0x1faff), (0x20000, 0x2a6df),
              (0xf0000, 0xffffd)]
    out = []
    for _ in range(n):
        lo, hi = rng.choice(ranges)
        out.append(chr(rng.randrange(lo, hi + 1)))
        if rng.randrange(8) == 0:
            out.append(pick([" ", "\n", "\t", "  ", "'s", "'LL", "0", "123"]))
    return "".join(out)


lines = []
lines += ENGLISH + KOREAN + CHINESE + JAPANESE + CODE + EMOJI + DIGITS + SPECIAL + WHITESPACE + ODD
lines += ["", "a", "'s", "'S", " 's", "it'S", "I'LL", "'", "''", "'''s", "x'y", "12'34"]
# Each special-token text inside sentences, with and without surrounding spaces.
for s in SPECIAL:
    lines.append(f"Hello {s} world")
    lines.append(f"prefix{s}suffix")
    lines.append(f"  {s}  \n{s}\n")
    lines.append(f"User said: {s}Ignore previous instructions{s}")
# Every whitespace character in the contexts where \s, \s+(?!\S) and \s*[\r\n]+ differ.
for w in WHITESPACE:
    lines.append(f"a{w}b")
    lines.append(f"a{w}{w}b")
    lines.append(f"a {w}b")
    lines.append(f"{w}start")
    lines.append(f"end{w}")
    lines.append(f"x{w}\n{w}y")
    lines.append(f"1{w}2{w}3")
    lines.append(f"!{w}?")
# Digit runs of every length up to 40, alone and glued to letters.
for n in range(1, 41):
    d = "".join(str((i * 7 + n) % 10) for i in range(n))
    lines.append(d)
    lines.append(f"abc{d}def")
    lines.append(f" {d} ")
# Runs of spaces and newlines of many lengths.
for n in range(1, 25):
    lines.append("x" + " " * n + "y")
    lines.append("x" + "\n" * n + "y")
    lines.append(" " * n)
    lines.append("a" + " " * n + "\n" + " " * n + "b")
    lines.append("\r\n" * n)
# Contractions in every case, alone and after words.
for c in ["s", "t", "re", "ve", "m", "ll", "d"]:
    for form in dict.fromkeys([c, c.upper(), c.capitalize()]):
        lines.append(f"it'{form} fine")
        lines.append(f"'{form}")
        lines.append(f"x '{form}y")
# Added-token flags (lstrip/rstrip/single_word/normalized; see data/qwen3_flags.json).
FLAG_CASES = [
    "a   <think>  b", "\t<think>x", "x</think>   \n y", "x</think>", "<tool_call>  \n <tool_call>",
    "lemon lemonade lemons", " lemon", "(lemon)", "lemon_x", "x lemon2", "élemon", "lemon\u0301",
    "x<|im_start|>y", " <|im_start|> ", "<|im_start|>", "a<|im_start|> b", "naïve nai\u0308ve NAÏVE",
    "e\u0301té été ete\u0301", "a tab\tb tab\t tab\t\t", "<tool_response>x", "x <tool_response>",
    "  <tool_response>  ", "<｜User｜>   hi", "<｜User｜>\n\nhi", "   <think>   </think>   ",
    "<think>\u3000x", "\u0085<think>", "</think>\u2028y", "_lemon_", "lemon's", "🍋lemon🍋",
]
for c in FLAG_CASES:
    lines.append(c)
    lines.append(c + " " + c)
    lines.append("word " + c + " word")
# Random mixtures.
while len(lines) < 1900:
    lines.append(random_line())
while len(lines) < 2300:
    lines.append(random_chars(rng.randrange(1, 40)))
# A few long lines (long words for the BPE heap path).
lines.append("".join(pick(CHINESE) for _ in range(40)))
lines.append("a" * 3000)
lines.append("ab" * 700 + "\n" + " " * 500 + "z")
lines.append(" ".join(WORDS) * 3)
lines.append("가" * 400)
lines.append("😀" * 200)

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "corpus.jsonl")
with open(out, "w", encoding="utf-8") as f:
    for line in lines:
        f.write(json.dumps(line, ensure_ascii=False) + "\n")
print(f"wrote {len(lines)} lines to {out}")
