"""What the documents tell people to type, read from the documents
themselves, so that the tests run exactly that: README.md (the first
run, the try-out), docs/USAGE.md (the Postfix relay),
packaging/OPERATIONS.md and the man page secretwatch(1)."""
import os
import re
import shlex

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
README = os.path.join(ROOT, "README.md")
USAGE = os.path.join(ROOT, "docs", "USAGE.md")
OPERATIONS = os.path.join(ROOT, "packaging", "OPERATIONS.md")
MAN1 = os.path.join(ROOT, "packaging", "man", "secretwatch.1.scd")


def read(path):
    with open(path) as f:
        return f.read()


def section(text, heading):
    """The text under the first heading line that is HEADING (any level of
    '#'), up to the next heading of the same or a higher level."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(#+) (.*)$", line)
        if m and m.group(2).strip() == heading:
            level = len(m.group(1))
            out = []
            for rest in lines[i + 1:]:
                n = re.match(r"^(#+) ", rest)
                if n and len(n.group(1)) <= level and not rest.startswith(
                        "#" * (level + 1)):
                    break
                out.append(rest)
            return "\n".join(out)
    raise AssertionError("no heading %r" % heading)


def blocks(text):
    """The fenced (```) and indented code blocks of TEXT, in order, each
    as a list of lines without their indentation."""
    out, cur, fenced = [], None, False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            if fenced:
                out.append(cur)
                cur, fenced = None, False
            else:
                cur, fenced = [], True
            continue
        if fenced:
            cur.append(line)
            continue
        # An indented block, also inside a list item (OPERATIONS.md).
        m = re.match(r"^( {4,}|\t)(.*)$", line)
        if m:
            if cur is None:
                cur = []
            cur.append(m.group(2))
        elif line.strip() == "" and cur is not None:
            cur.append("")
        elif cur is not None:
            out.append(cur)
            cur = None
    if cur is not None:
        out.append(cur)
    return [strip_blank(b) for b in out if strip_blank(b)]


def strip_blank(lines):
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    while lines and not lines[0].strip():
        lines = lines[1:]
    return lines


def main_cf(text):
    """The lines under '# /etc/postfix/main.cf' up to the next blank line,
    in the first block that has them."""
    for b in blocks(text):
        if "# /etc/postfix/main.cf" in b:
            i = b.index("# /etc/postfix/main.cf") + 1
            out = []
            while i < len(b) and b[i].strip():
                out.append(b[i].strip())
                i += 1
            return out
    raise AssertionError("no '# /etc/postfix/main.cf' block")


def sasl_passwd(text):
    """The entry under '# /etc/postfix/sasl_passwd ...'."""
    for b in blocks(text):
        for i, line in enumerate(b):
            if line.startswith("# /etc/postfix/sasl_passwd"):
                return b[i + 1].strip()
    raise AssertionError("no '# /etc/postfix/sasl_passwd' block")


def postconf_token_dir(text):
    """The postconf command that adds SECRETWATCH_TOKEN_DIR, and the
    directory it names (to be replaced by the caller's)."""
    for b in blocks(text):
        for line in b:
            line = line.strip()
            m = re.search(r"SECRETWATCH_TOKEN_DIR=(/[^\"\s]+)", line)
            if line.startswith("postconf -e ") and m:
                return line, m.group(1)
    raise AssertionError("no postconf command for SECRETWATCH_TOKEN_DIR")


def commands(lines, prefixes=("secretwatch", "sw", "secretwatchd",
                              "systemctl")):
    """The commands in code lines: continuation lines joined, comments
    and shell prompts dropped, 'sudo -u secretwatch' and the sw() wrapper
    of OPERATIONS.md read as plain 'secretwatch'; each as a word list."""
    joined, cur = [], ""
    for line in lines:
        line = line.rstrip()
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        joined.append(cur + line)
        cur = ""
    out = []
    for line in joined:
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        line = re.sub(r"^\$ ", "", line)
        if not line:
            continue
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        if words[:3] == ["sudo", "-u", "secretwatch"]:
            words = words[3:]
        if words and words[0] == "sw":
            words[0] = "secretwatch"
        if words and words[0] in prefixes:
            out.append(words)
    return out
