# Flattens one JSON document into "path<TAB>value" lines, for busybox awk (and any POSIX awk with
# split(s, a, "")). Object keys and array indexes are joined with "."; each string, number, true,
# false and null is one line. A string holding newlines gives one line per non-empty line, so a
# public key value "key1\nkey2\n" yields two lines with the same path. Exits 1 on malformed input.
# Example: {"uuid": "u", "public_keys": {"k": "ssh-ed25519 AAA x"}} gives
#   uuid<TAB>u
#   public_keys.k<TAB>ssh-ed25519 AAA x

{ text = text $0 "\n" }

END {
	n = split(text, ch, "")
	pos = 1
	value("")
	ws()
	if (pos <= n) fail("trailing data")
}

function fail(why) {
	printf "json.awk: %s at character %d\n", why, pos > "/dev/stderr"
	exit 1
}

function ws() {
	while (pos <= n && (ch[pos] == " " || ch[pos] == "\t" || ch[pos] == "\n" || ch[pos] == "\r")) pos++
}

function join(path, key) {
	gsub(/\t|\n/, " ", key)
	return path == "" ? key : path "." key
}

function value(path) {
	ws()
	if (pos > n) fail("unexpected end")
	if (ch[pos] == "{") object(path)
	else if (ch[pos] == "[") array(path)
	else if (ch[pos] == "\"") emit(path, string())
	else emit(path, literal())
}

function object(path,    key) {
	pos++
	ws()
	if (ch[pos] == "}") { pos++; return }
	while (1) {
		ws()
		if (ch[pos] != "\"") fail("expected a key")
		key = string()
		ws()
		if (ch[pos] != ":") fail("expected :")
		pos++
		value(join(path, key))
		ws()
		if (ch[pos] == ",") { pos++; continue }
		if (ch[pos] == "}") { pos++; return }
		fail("expected , or }")
	}
}

function array(path,    i) {
	pos++
	ws()
	if (ch[pos] == "]") { pos++; return }
	for (i = 0; 1; i++) {
		value(join(path, i))
		ws()
		if (ch[pos] == ",") { pos++; continue }
		if (ch[pos] == "]") { pos++; return }
		fail("expected , or ]")
	}
}

function literal(    out) {
	out = ""
	while (pos <= n && index(",}] \t\r\n", ch[pos]) == 0) out = out ch[pos++]
	if (out !~ /^(true|false|null|-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)$/) fail("bad literal")
	return out
}

function string(    out, c) {
	out = ""
	pos++
	while (pos <= n) {
		c = ch[pos++]
		if (c == "\"") return out
		if (c != "\\") { out = out c; continue }
		c = ch[pos++]
		if (c == "n") out = out "\n"
		else if (c == "t") out = out "\t"
		else if (c == "r") out = out "\r"
		else if (c == "u") { out = out utf8(hex(ch[pos] ch[pos + 1] ch[pos + 2] ch[pos + 3])); pos += 4 }
		else if (c != "b" && c != "f") out = out c
	}
	fail("unterminated string")
}

function hex(digits,    i, v) {
	v = 0
	for (i = 1; i <= 4; i++) v = v * 16 + index("0123456789abcdef", tolower(substr(digits, i, 1))) - 1
	return v
}

function utf8(code) {
	if (code < 128) return sprintf("%c", code)
	if (code < 2048) return sprintf("%c%c", 192 + int(code / 64), 128 + code % 64)
	return sprintf("%c%c%c", 224 + int(code / 4096), 128 + int(code / 64) % 64, 128 + code % 64)
}

function emit(path, s,    lines, count, i) {
	gsub(/\r/, "", s)
	gsub(/\t/, " ", s)
	count = split(s, lines, "\n")
	if (count == 0) { print path "\t"; return }
	for (i = 1; i <= count; i++) if (lines[i] != "" || count == 1) print path "\t" lines[i]
}
