#!/usr/bin/python3
"""Byte-for-byte parity of sputnik's Jinja interpreter with Python Jinja2.

The reference is Debian's python3-jinja2 configured exactly as transformers' apply_chat_template
configures it (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, its own
tojson without ASCII escaping, raise_exception). Every case is rendered by Jinja2 here and by
sputnik (chat_render_tool) and the outputs must be identical; when Jinja2 raises, sputnik must
fail too.

  usage: jinja2_parity.py PATH/TO/chat_render_tool
"""
import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))


def make_env():
    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def strftime_now(fmt):
        return datetime.now().strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


ENV = make_env()
_compiled = {}


def compile_template(source):
    if source not in _compiled:
        _compiled[source] = ENV.from_string(source)
    return _compiled[source]


def chat_cases():
    templates = json.load(open(os.path.join(HERE, "templates", "templates.json")))
    convs = json.load(open(os.path.join(HERE, "conversations.json")))
    cases = []
    for tname, meta in templates.items():
        path = os.path.join(HERE, "templates", meta["file"])
        source = open(path, encoding="utf-8", newline="").read()
        for conv in convs:
            for agp in (False, True):
                for thinking in (None, True, False):
                    opts = {"add_generation_prompt": agp}
                    if thinking is not None:
                        opts["enable_thinking"] = thinking
                    for tok in ("bos_token", "eos_token"):
                        if tok in meta:
                            opts[tok] = meta[tok]
                    if "tools" in conv:
                        opts["tools"] = conv["tools"]
                    cases.append({
                        "kind": "chat", "template_file": path, "messages": conv["messages"], "options": opts,
                        "_label": f"{tname}/{conv['name']}/agp={agp}/thinking={thinking}", "_source": source,
                        "_template": tname, "_conv": conv["name"],
                    })
    return cases


def render_chat_reference(case):
    opts = case["options"]
    kwargs = {k: opts[k] for k in ("bos_token", "eos_token") if k in opts}
    if "enable_thinking" in opts:
        kwargs["enable_thinking"] = opts["enable_thinking"]
    tmpl = compile_template(case["_source"])
    return tmpl.render(messages=case["messages"], tools=opts.get("tools"), documents=None,
                       add_generation_prompt=opts["add_generation_prompt"], **kwargs)


# Small templates exercising the language features chat templates rely on.
RAW = [
    # whitespace control: trim_blocks, lstrip_blocks, -/+ markers, comments, trailing newline
    ("  {% if true %}\n  x\n  {% endif %}\n  y {% if true %}z{% endif %}\n", {}),
    ("a\n  {{- 'b' }}  \n{#- c #}\n{# d #}\n e", {}),
    ("{% for i in [1,2] %}\n  {{ i }}\n{% endfor %}\n", {}),
    ("{% for i in [1,2] -%}\n  {{ i }}\n{%- endfor %}", {}),
    ("x  {%+ if true %}y{% endif +%}\nz", {}),
    ("<{%- if true -%}  \n  a  \n  {%- endif -%}>", {}),
    ("line1\n    {# comment #}\nline2\n\t{% set x = 1 %}\nline3", {}),
    ("{% raw %}{{ not evaluated }}{% endraw %}\n after", {}),
    ("a\r\nb\rc\n\n", {}),
    ("{{ 'x' }}\n\n", {}),
    ("  {{ 'v' }}  \n  {% if 1 %}A{% endif %}", {}),
    ("\t \t{% if true %}\n\tA\n \t{%- endif %}\n\t{{ 'B' }}\n\t{# c #}  \n  text {% if true %}C{% endif %}\n", {}),
    ("{%- raw -%}\n  {{ x }}  \n{%- endraw %}\nend", {}),
    ("a{#\n multi\n line #}\n  b{#- x -#}  c\n{% if true +%}\nkeep{% endif %}", {}),
    ("{% for m in ms %}{{ m }}{{ ',' if not loop.last }}{% endfor %}\n\n\n", {"ms": [1, 2, 3]}),
    ("{{ '{{' }} {{ '}}' }} {{ '{%' }} {{ d['}}'] }}", {"d": {"}}": "brace"}}),
    ("{% if x %}\r\n  y\r\n{% endif %}\r\n", {"x": True}),
    # scoping
    ("{% for i in [1,2] %}{% if i == 1 %}{% set x = 5 %}{% endif %}{{ x }}|{% endfor %}", {}),
    ("{% set x = 1 %}{% for i in [1,2] %}{{ x }}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}", {}),
    ("{% set ns = namespace(a=1, b='q') %}{% for i in range(3) %}{% set ns.a = ns.a + i %}{% endfor %}{{ ns.a }}{{ ns.b }}", {}),
    ("{% if true %}{% set y = 3 %}{% endif %}{{ y }}", {}),
    ("{% with a = 2, b = 3 %}{{ a * b }}{% endwith %}{{ a }}", {}),
    ("{% set blk %}in {{ 1 + 1 }}{% endset %}[{{ blk }}]", {}),
    # loops
    ("{% for x in xs %}{{ loop.index }}/{{ loop.index0 }}/{{ loop.revindex }}/{{ loop.first }}/{{ loop.last }}/{{ loop.length }};{% endfor %}", {"xs": ["a", "b", "c"]}),
    ("{% for x in xs if x > 1 %}{{ x }}{{ loop.length }}{% else %}none{% endfor %}", {"xs": [1, 2, 3]}),
    ("{% for x in [] %}{{ x }}{% else %}empty{% endfor %}", {}),
    ("{% for x in xs %}{% if x == 3 %}{% break %}{% endif %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %}", {"xs": [0, 1, 2, 3, 4]}),
    ("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}", {}),
    ("{% for x in xs %}{{ loop.previtem }}-{{ loop.nextitem }}-{{ loop.cycle('o', 'e') }};{% endfor %}", {"xs": [1, 2, 3]}),
    ("{% for c in 'héllo' %}[{{ c }}]{% endfor %}", {}),
    ("{% for m in messages[::-1] %}{{ m }}{% endfor %}", {"messages": [1, 2, 3]}),
    # macros
    ("{% macro f(a, b='x') %}[{{ a }}{{ b }}]{% endmacro %}{{ f(1) }}{{ f(1, b=2) }}{{ f(a=3) }}", {}),
    ("{% macro render(m) %}{{ m.role | upper }}: {{ m.content }}{% endmacro %}{% for m in ms %}{{ render(m) }}\n{% endfor %}", {"ms": [{"role": "user", "content": "hi"}]}),
    # expressions, operators, literals
    ("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 7 / 2 }} {{ 4 / 2 }}", {}),
    ("{{ 'a' ~ 1 ~ none ~ true }} {{ 'ab' * 3 }} {{ [1] + [2] }} {{ 'x' + 'y' }}", {}),
    ("{{ none }}|{{ [1, 'a', none, true, 1.5] }}|{{ {'a': 1, 'b': 'c'} }}|{{ 1e20 }}|{{ 0.1 + 0.2 }}|{{ 1e-5 }}|{{ 2.0 }}", {}),
    ("{{ ('a', 'b') }}{{ (1,) }}{{ () }}", {}),
    ("{{ 1 == 1.0 }}{{ 'a' < 'b' }}{{ [1] == [1] }}{{ true + 1 }}{{ 3 > 2 > 1 }}{{ 1 != 2 }}", {}),
    ("{{ 'b' in 'abc' }}{{ 2 in [1, 2] }}{{ 'k' in {'k': 1} }}{{ 'z' not in 'abc' }}{{ not false }}", {}),
    ("{{ 'yes' if x else 'no' }}|{{ 'yes' if y }}|{{ a or b }}|{{ a and b }}|{{ 0 or 'd' }}", {"x": 1, "y": 0, "a": "", "b": "B"}),
    ("{{ \"dq\" }}{{ 'it\\'s' }}{{ 'a\\nb' }}{{ 'tab\\there' }}{{ '\\u00e9' }}{{ 'adj' 'acent' }}", {}),
    ("{{ x.y }}|{{ x['y'] }}|{{ x.z is defined }}|{{ x.y.w is defined }}", {"x": {"y": 1}}),
    ("{{ xs[0] }}{{ xs[-1] }}{{ xs[1:] }}{{ xs[:2] }}{{ xs[::2] }}{{ xs[::-1] }}{{ xs[5] is defined }}", {"xs": [1, 2, 3, 4]}),
    ("{{ s[0] }}{{ s[-1] }}{{ s[1:3] }}{{ s[::-1] }}", {"s": "héllo wörld"}),
    ("{{ messages|length - 1 }}{{ (messages|length) - 1 }}", {"messages": [1, 2, 3]}),
    ("{{ -x|abs }} {{ -(x|abs) }}", {"x": -3}),
    ("{{ n is none }}{{ n is not none }}{{ u is defined }}{{ u is undefined }}{{ s is string }}{{ d is mapping }}{{ l is iterable }}{{ 3 is number }}{{ 3 is integer }}{{ 3.0 is float }}{{ true is boolean }}{{ true is true }}{{ false is false }}{{ 4 is even }}{{ 3 is odd }}{{ 9 is divisibleby 3 }}{{ 2 is in [1, 2] }}{{ 'a' is eq 'a' }}{{ f is callable }}",
     {"n": None, "s": "x", "d": {}, "l": [], "f": 1}),
    # string methods
    ("{{ 'a b  c'.split() }}{{ 'a,b,,c'.split(',') }}{{ 'a,b,c'.split(',', 1) }}{{ ' x '.strip() }}{{ 'xxaxx'.strip('x') }}{{ '\\n\\nz\\n'.lstrip('\\n') }}{{ 'z\\n\\n'.rstrip('\\n') }}", {}),
    ("{{ s.startswith('<tool') }}{{ s.endswith('>') }}{{ s.startswith(('a', '<')) }}{{ s.replace('tool', 'T') }}{{ s.upper() }}{{ s.lower() }}{{ 'hello world'.title() }}{{ 'hELLO'.capitalize() }}", {"s": "<tool_response>"}),
    ("{{ s.split('</think>')[-1].lstrip('\\n') }}|{{ s.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') }}", {"s": "<think>\nreason\n</think>\n\nanswer"}),
    ("{{ 'abc'.find('c') }}{{ 'abc'.find('z') }}{{ 'aXbXc'.count('X') }}{{ '-'.join(['a', 'b']) }}{{ '{} and {}'.format(1, 'two') }}{{ 'ab\\ncd'.splitlines() }}", {}),
    # filters
    ("{{ '  pad  '|trim }}|{{ 'xx'|trim('x') }}|{{ [1, 2, 3]|length }}|{{ 'héllo'|length }}|{{ {'a': 1}|count }}|{{ u|length }}", {}),
    ("{{ u|default('dflt') }}|{{ ''|default('e', true) }}|{{ 0|d('z') }}|{{ none|default('n') }}", {}),
    ("{{ 'MiXed'|upper }}{{ 'MiXed'|lower }}{{ 'hello big-world (x)'|title }}{{ 'abc'|capitalize }}{{ 3|string }}{{ '42'|int + 1 }}{{ '4.5'|float }}{{ 'x'|int }}{{ 3.9|int }}", {}),
    ("{{ [3, 1, 2]|sort }}{{ ['b', 'A', 'c']|sort }}{{ [3, 1, 2]|sort(reverse=true) }}{{ [1, 2]|first }}{{ [1, 2]|last }}{{ [1, 2]|reverse|list }}{{ 'abc'|reverse }}", {}),
    ("{{ xs|join(', ') }}|{{ xs|map(attribute='n')|join }}|{{ xs|map(attribute='n')|sum }}|{{ xs|selectattr('n', 'gt', 1)|list|length }}|{{ xs|rejectattr('n', 'even')|map(attribute='n')|list }}",
     {"xs": [{"n": 1}, {"n": 2}, {"n": 3}]}),
    ("{{ [0, 1, '', 'a', none]|select|list }}{{ [1, 2, 3, 4]|select('odd')|list }}{{ [1, 2, 3]|reject('in', [2])|list }}{{ ['a', 'b']|map('upper')|list }}", {}),
    ("{{ d|items|list }}{{ d|dictsort }}{{ [1, 2, 2, 1]|unique|list }}{{ [4, 9, 2]|max }}{{ [4, 9, 2]|min }}{{ -3|abs }}{{ 2.5|round }}{{ 3.14159|round(2) }}",
     {"d": {"z": 1, "a": 2}}),
    ("{{ 'a\\nb\\n\\nc'|indent(2) }}|{{ 'a\\nb'|indent(4, true) }}|{{ '<&>'|e }}|{{ 'one two  three'|wordcount }}|{{ 'aXa'|replace('a', 'b') }}", {}),
    # tojson as transformers defines it
    ("{{ {'b': 1, 'a': [1, 2.0, 'é\"\\n', none, true]}|tojson }}|{{ 'x'|tojson }}|{{ [1, 2]|tojson(indent=2) }}|{{ {'k': {'n': []}}|tojson(indent=4) }}", {}),
    ("{{ d|tojson }}|{{ d|tojson(sort_keys=true) }}|{{ d|tojson(separators=(',', ':')) }}|{{ d|tojson(ensure_ascii=true) }}",
     {"d": {"z": "日本語 😀", "a": {"x": [1, {}], "y": 1.5e-7}, "ctl": "\u0001\u2028"}}),
    ("{% for tool in tools %}{{ tool|tojson }}\n{% endfor %}", {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"q": {"type": "string", "description": "ünïcode"}}}}}]}),
    # dict attribute lookup prefers methods, like Python/Jinja
    ("{{ d.get('a') }}{{ d.get('zz', 'dflt') }}{{ d.keys()|list }}{{ d.values()|list }}", {"d": {"a": 1, "b": 2}}),
    # pieces of other real templates (Llama 3, Mistral, Gemma, Phi) that use more of the language
    ("{%- if messages[0]['role'] == 'system' %}{%- set system_message = messages[0]['content']|trim %}{%- set messages = messages[1:] %}{%- else %}{%- set system_message = '' %}{%- endif %}[{{ system_message }}]{% for m in messages %}{{ m.role }};{% endfor %}",
     {"messages": [{"role": "system", "content": "  S  "}, {"role": "user", "content": "u"}]}),
    ("{%- for message in messages %}{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{- raise_exception('alternate!') }}{%- endif %}{{ message['content'] }}{% endfor %}",
     {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}),
    ("{%- for message in messages %}{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{- raise_exception('alternate!') }}{%- endif %}{% endfor %}",
     {"messages": [{"role": "assistant", "content": "b"}]}),
    ("{{ '<start_of_turn>' + ('model' if m.role == 'assistant' else m.role) + '\n' + m.content | trim + '<end_of_turn>\n' }}",
     {"m": {"role": "assistant", "content": "  x  "}}),
    ("{{- \"Cutting Knowledge Date: December 2023\\n\" }}{%- if not date_string is defined %}{%- set date_string = \"26 Jul 2024\" %}{%- endif %}{{ date_string }}", {}),
    ("{%- if tools is not none and not tools_in_user_message %}T{%- endif %}|{{ tools_in_user_message is defined }}", {"tools": None}),
    ("{% for t in tools %}{{ t | tojson(indent=4) }}{{ '\\n\\n' }}{% endfor %}", {"tools": [{"name": "x", "parameters": {"a": [1, 2], "b": {}}}]}),
    ("{%- set ns = namespace(found=false) -%}{%- for m in ms -%}{%- if m.role == 'system' -%}{%- set ns.found = true -%}{%- endif -%}{%- endfor -%}{{ ns.found }}", {"ms": [{"role": "system"}]}),
    ("{{ (messages | selectattr('role', 'equalto', 'user') | list | last).content }}", {"messages": [{"role": "user", "content": "1"}, {"role": "user", "content": "2"}, {"role": "assistant", "content": "3"}]}),
    ("{% if message is defined and message.content is string %}s{% elif message.content is iterable %}i{% else %}n{% endif %}", {"message": {"content": [{"type": "text", "text": "hi"}]}}),
    ("{% for part in content %}{% if part.type == 'text' %}{{ part.text }}{% endif %}{% endfor %}", {"content": [{"type": "text", "text": "a"}, {"type": "image"}, {"type": "text", "text": "b"}]}),
    ("{{ x | string | length }}{{ (x ~ '') | length }}{{ x | int * 2 }}{{ '%d' | length }}", {"x": 123}),
    ("{{ 'abc' if 'b' in 'abc' else 'none' }}{{ [1, 2, 3][1:] | join('-') }}{{ {'a': 1}['a'] }}{{ {'a': {'b': 2}}.a.b }}", {}),
    ("{%- for m in ms %}\n  {%- if m %}\n    {{- m }}\n  {%- endif %}\n{% endfor %}\n", {"ms": ["a", "", "b"]}),
    ("{% for i in range(2, 8, 2) %}{{ i }}{% endfor %}{% for i in range(3, 0, -1) %}{{ i }}{% endfor %}{{ range(0)|list }}", {}),
    ("{{ 10 / 4 }} {{ 10 // 4 }} {{ 2 ** -1 }} {{ 1.5 * 2 }} {{ 7.5 // 2 }} {{ -7.5 % 2 }} {{ 3 - 5 }} {{ 0.1 * 3 }}", {}),
    ("{{ 1e300 * 1e300 }} {{ 123456789.123 }} {{ 1/7 }} {{ 100.0 }} {{ 1e16 }} {{ 1e15 }} {{ 0.0001 }} {{ -0.0 }}", {}),
    ("{{ x }}|{{ [x] }}|{{ {'k': x} }}", {"x": "it's \"q\" \\ \n é \u00a0 \u200b \u0007"}),
    ("{{ 'Hello World'.split(' ')[-1].upper() }}{{ '  a  b  '.split(' ') }}{{ 'a\tb\nc'.split() }}{{ 'a b c'.split(None, 1) }}{{ 'a,b,c'.rsplit(',', 1) }}", {}),
    ("{{ s.strip('<>') }}{{ s.lstrip('<') }}{{ s.rstrip('>') }}{{ s.replace('o', '0', 1) }}{{ s.startswith('<t', 0) if false else 'x' }}", {"s": "<<foo>>"}),
    ("{% macro m(a, b=none, c=[1]) -%}\n{{ a }}|{{ b }}|{{ c }}\n{%- endmacro %}\n{{ m('x') }}\n{{ m('x', c=2) }}", {}),
    ("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set t = 1, %}{{ t }}", {}),
    ("{{ d | dictsort(by='value') }}{{ d | dictsort(reverse=true) }}{{ ['B', 'a', 'C'] | sort(case_sensitive=true) }}{{ ['B', 'a', 'C'] | max }}",
     {"d": {"x": 3, "y": 1, "z": 2}}),
    ("{{ 'abc' | first }}{{ 'abc' | last }}{{ [] | first is defined }}{{ 'x' | list }}{{ {'a': 1} | list }}", {}),
    ("{{ xs | map('string') | join(',') }}{{ xs | sum }}{{ xs | map('int') | list }}{{ [1.5, 2] | sum }}", {"xs": [1, 2, 3]}),
    ("{%- set content = '' -%}{%- for m in ms -%}{%- set content = content + m -%}{%- endfor -%}[{{ content }}]", {"ms": ["a", "b"]}),
    # errors: Jinja2 raises, sputnik must fail too
    ("{{ raise_exception('boom') }}", {}),
    ("{{ x.y }}", {}),
    ("{{ 'a' + 1 }}", {}),
    ("{% for x in none %}{% endfor %}", {}),
    ("{{ 1 / 0 }}", {}),
    ("{{ u.startswith('x') }}", {}),
    ("{% set x.y = 1 %}", {"x": {}}),
]

# Case mapping beyond Latin/Greek/Cyrillic: Python's str methods use Unicode's full mappings
# (ß -> SS, ŉ -> ʼN, ligatures), title case for first letters (ǆ -> ǅ, Georgian stays
# Mkhedruli in title() but goes Mtavruli in upper()), and lower() turns Σ into ς at a word's end.
CASE_STRINGS = [
    "Straße STRASSE ẞ ﬁx ﬀ ﬃ ŉ",
    "İstanbul ıi Iİ",
    "ΟΔΥΣΣΕΥΣ ΣΑ Σ. ΑΣ' ΣΣ Σ aΣb aΣ Α\u0345Σ Σ\u0301",
    "Բարեւ աշխարհ և ﬓ ԵՒ",
    "ა ბ Ⴀ Ა ᲐᲑ ⴀ",
    "ǆemal ǅ Ǆ ǈ ǌ",
    "ΐ ΰ ǰ ẖ ῳ ᾳ ᾼ",
    "𐐨𐐩 𞤢 Ⰰⰰ ᏣᎳᎩ ꮳꮃꭹ",
    "١٢٣ ²³ Ⅻ ⅻ 一 ½ x_1",
    "hello WORLD 123 ﾊﾟ",
    "",
]
RAW += [("{{ s.upper() }}|{{ s.lower() }}|{{ s.title() }}|{{ s.capitalize() }}", {"s": t}) for t in CASE_STRINGS]
RAW += [("{{ s|upper }}|{{ s|lower }}|{{ s|title }}|{{ s|capitalize }}|{{ s|wordcount }}", {"s": t}) for t in CASE_STRINGS]
RAW += [("{% for w in s.split() %}{{ w }}:{{ w.islower() }}{{ w.isupper() }}{{ w.isalpha() }}{{ w.isdigit() }}"
         "{{ w.isalnum() }}{{ w is lower }}{{ w is upper }} {% endfor %}", {"s": t}) for t in CASE_STRINGS]


def raw_cases():
    return [{"kind": "raw", "template": t, "context": c, "_label": f"raw[{i}] {t[:60]!r}"} for i, (t, c) in enumerate(RAW)]


def render_raw_reference(case):
    return ENV.from_string(case["template"]).render(**case["context"])


def main():
    tool = sys.argv[1]
    cases = chat_cases() + raw_cases()
    expected = []
    for c in cases:
        try:
            text = render_chat_reference(c) if c["kind"] == "chat" else render_raw_reference(c)
            expected.append({"ok": True, "text": text})
        except Exception as e:  # any Jinja2 failure: sputnik must fail as well
            expected.append({"ok": False, "error": f"{type(e).__name__}: {e}"})

    wire = [{k: v for k, v in c.items() if not k.startswith("_")} for c in cases]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump(wire, f, ensure_ascii=False)
        path = f.name
    try:
        proc = subprocess.run([tool, path], capture_output=True, timeout=600)
    finally:
        os.unlink(path)
    if proc.returncode != 0:
        print(proc.stderr.decode(errors="replace"))
        sys.exit(f"chat_render_tool exited with {proc.returncode}")
    got = json.loads(proc.stdout.decode("utf-8"))
    assert len(got) == len(cases), (len(got), len(cases))

    failures = 0
    rendered = 0
    for c, exp, g in zip(cases, expected, got):
        if exp["ok"]:
            rendered += 1
        if exp["ok"] != g["ok"] or (exp["ok"] and exp["text"] != g["text"]):
            failures += 1
            if failures <= 15:
                print(f"MISMATCH {c['_label']}")
                print(f"  jinja2 : {exp.get('text', exp.get('error'))!r}"[:2000])
                print(f"  sputnik: {g.get('text', g.get('error'))!r}"[:2000])

    # The suite must mostly exercise successful renders, not errors both sides agree on.
    chat_total = sum(1 for c in cases if c["kind"] == "chat")
    chat_ok = sum(1 for c, e in zip(cases, expected) if c["kind"] == "chat" and e["ok"])
    assert chat_ok >= 0.7 * chat_total, f"only {chat_ok}/{chat_total} chat cases render in Jinja2"

    # DeepSeek-R1's generation prompt opens the thinking block.
    r1 = [(c, g) for c, g in zip(cases, got) if c["kind"] == "chat" and c["_template"] == "deepseek-r1"
          and c["options"]["add_generation_prompt"] and g["ok"] and not c["messages"][-1]["role"] == "tool"]
    assert r1, "no DeepSeek-R1 generation-prompt cases"
    for c, g in r1:
        if not g["text"].endswith("<｜Assistant｜><think>\n"):
            failures += 1
            print(f"R1 prompt does not end with <think>\\n: {c['_label']}: {g['text'][-60:]!r}")

    print(f"{len(cases)} cases ({chat_total} chat, {chat_ok} rendered by Jinja2 {jinja2.__version__}; "
          f"{rendered} rendered in all), {failures} mismatches")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
