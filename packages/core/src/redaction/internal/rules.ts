/**
 * @internal Redaction rules (census-health.md §3). Every replacement goes through a callback (never a
 * `String.replace` pattern, lessons D8), and every rule skips values that are already `[REDACTED]`, so a
 * secret is counted once and redaction is idempotent.
 */

export const REDACTED = "[REDACTED]"

export interface Counter {
  count: number
}

// ---------------------------------------------------------------------------------------------------
// Secret key names
// ---------------------------------------------------------------------------------------------------

const KEY_FRAGMENTS = [
  "pass",
  "secret",
  "token",
  "api_key",
  "api-key",
  "apikey",
  "access_key",
  "private_key",
  "client_secret",
  "auth",
  "credential",
  "cookie",
  "session",
  "psk",
  "pbkdf2"
] as const

/** Fragments matched after removing `_`, `-`, `.` and spaces (`PrivateKey`, `AccessKey`, `PresharedKey`). */
const COMPACT_FRAGMENTS = ["apikey", "accesskey", "privatekey", "clientsecret", "presharedkey"] as const

const WIREGUARD_KEY = /wireguard.*key/

export const normalizeExtraKeys = (extra: ReadonlyArray<string>): ReadonlyArray<string> =>
  extra.map((k) => k.trim().toLowerCase()).filter((k) => k.length > 0)

/** `extra` must already be normalized (lower case, trimmed). */
export const isSecretKeyNormalized = (key: string, extra: ReadonlyArray<string>): boolean => {
  const lower = key.toLowerCase()
  if (KEY_FRAGMENTS.some((f) => lower.includes(f))) return true
  if (WIREGUARD_KEY.test(lower)) return true
  const compact = lower.replace(/[-_. ]/g, "")
  if (COMPACT_FRAGMENTS.some((f) => compact.includes(f))) return true
  return extra.some((f) => lower.includes(f))
}

export const isSecretKey = (key: string, extra: ReadonlyArray<string>): boolean =>
  isSecretKeyNormalized(key, normalizeExtraKeys(extra))

// ---------------------------------------------------------------------------------------------------
// Value helpers
// ---------------------------------------------------------------------------------------------------

const stripQuotes = (v: string): { open: string; inner: string; close: string } => {
  if (v.length >= 4 && v.startsWith('\\"') && v.endsWith('\\"')) return { open: '\\"', inner: v.slice(2, -2), close: '\\"' }
  if (v.length >= 2) {
    const q = v[0]
    if ((q === '"' || q === "'") && v[v.length - 1] === q) return { open: q, inner: v.slice(1, -1), close: q }
  }
  return { open: "", inner: v, close: "" }
}

/** A shell variable reference (`$DB_PASS`, `${TOKEN}`) names a secret but is not one. */
const VARIABLE_REF = /^\$(?:[A-Za-z_][A-Za-z0-9_]*|\{[A-Za-z_][A-Za-z0-9_]*\})$/

/**
 * Replaces a value (possibly quoted) by the marker. Returns the original when there is nothing to hide
 * (empty, a variable reference, already the marker). A value that already contains a marker is absorbed
 * whole without counting again: its secret was counted by a more specific rule.
 */
const maskValue = (raw: string, counter: Counter): string => {
  const { open, inner, close } = stripQuotes(raw)
  if (inner.length === 0 || inner === REDACTED || VARIABLE_REF.test(inner)) return raw
  if (!inner.includes(REDACTED)) counter.count++
  return `${open}${REDACTED}${close}`
}

// ---------------------------------------------------------------------------------------------------
// Text mode
// ---------------------------------------------------------------------------------------------------

/** A PEM block to its END line; a cut-off block runs to the end of the text or of the JSON string holding it. */
const PEM =
  /-----BEGIN ([A-Z0-9 ]*?(?:KEY|CERTIFICATE)[A-Z0-9 ]*)-----((?:[^"\\]|\\[\s\S])*?)(?:(-----END [A-Z0-9 ]*-----)|(?=")|(?![\s\S]))/g

const TOKEN_PATTERNS: ReadonlyArray<RegExp> = [
  // JWT: three base64url parts, the header starting with eyJ ({")
  /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g,
  // AWS access key id
  /(?<![A-Za-z0-9])AKIA[0-9A-Z]{16}(?![A-Za-z0-9])/g,
  // GitHub tokens
  /(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{16,}/g,
  /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{20,}/g,
  // Slack
  /(?<![A-Za-z0-9_-])xox[abprs]-[A-Za-z0-9-]{4,}/g,
  // Tailscale
  /(?<![A-Za-z0-9_-])tskey-[A-Za-z0-9_-]{4,}/g
]

/** `PVEAPIToken=<user@realm!id>=<secret>`: the id is kept. */
const PVE_TOKEN = /(PVEAPIToken[ \t]*=[ \t]*)([^\s=;,'"\\]+)=([^\s;,'"\\]+)/gi

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/'"\\]*):([^\s@/'"\\]+)@/gi

const HEADERS =
  /(?<![\w-])(\\"|['"]?)(Proxy-Authorization|Authorization|Set-Cookie|Cookie|X-Api-Key|X-Auth-Token)([ \t]*:[ \t]*)([^\r\n]*)/gi

/** `\"…\"`: a double-quoted value inside a JSON string. */
const ESCAPED_QUOTED = `\\\\"(?:[^"\\\\\\n]|\\\\[^"\\n])*\\\\"`
/**
 * A double-quoted value never starts with `,` `]` `}` `:`: in serialized JSON that quote ends the
 * string (`{"a":"password=","b":1}`), so it is not a value at all.
 */
const QUOTED_VALUE = `${ESCAPED_QUOTED}|"(?![,\\]}:])(?:[^"\\\\\\n]|\\\\.)*"|'[^'\\n]*'`
/**
 * An unquoted run. It stops at whitespace, quotes and JSON escapes (`\"`, `\n`, `\r`, `\t`, `\u`), so a
 * match never splits an escape sequence and redacting serialized JSON keeps it valid JSON.
 */
const UNQ = (stop: string) => `(?:[^\\s'"\\\\${stop}]|\\\\\\\\|\\\\[^"nrtu\\\\\\s])+`
const TOKEN_VALUE = `${QUOTED_VALUE}|${UNQ("")}`

/** `--password x`, `--password=x`, `--token x`, `--db-password=x`, `--api-key x`. */
const SECRET_FLAG = new RegExp(
  `(?<![\\w-])(--[A-Za-z0-9_-]*(?:password|passwd|token|secret|api-key|apikey)[A-Za-z0-9_-]*)(=|[ \\t]+)(${TOKEN_VALUE})`,
  "gi"
)

/** `mysql … -p<secret>` (attached; a bare `-p` prompts and holds nothing). */
const MYSQL_P = new RegExp(
  `\\b(mysql|mariadb|mysqldump|mysqladmin|mariadb-dump|mariadb-admin)\\b([^\\n|;&]*?[ \\t])-p(${QUOTED_VALUE}|${UNQ("")})`,
  "g"
)

/** `curl … -u user:secret` / `--user user:secret`: the user is kept. */
const CURL_USER = /\bcurl\b([^\n|;&]*?[ \t])(-u|--user)(=|[ \t]*)(?:'([^\s:']*):([^'\n]+)'|"([^\s:"\\]*):([^"\n\\]+)"|([^\s:'"\\]*):([^\s'"\\]+))/g

/** `sshpass -p secret` / `sshpass -psecret`. */
const SSHPASS = new RegExp(`\\bsshpass\\b([^\\n|;&]*?[ \\t])-p([ \\t]*)(${TOKEN_VALUE})`, "g")

/** `"NAME": "value"`, `'NAME': 'value'`, `"NAME": 123`. */
const QUOTED_KEY_VALUE =
  /(["'])([^"'\\\n]{1,200})\1([ \t]*:[ \t]*)("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|-?\d[\d.]*)/g

/** The same inside a JSON string (`\"password\": \"x\"`). */
const ESCAPED_KEY_VALUE = new RegExp(`(\\\\")([^"\\\\\\n]{1,200})\\\\"([ \\t]*:[ \\t]*)(${ESCAPED_QUOTED}|-?\\d[\\d.]*)`, "g")

/** YAML-ish `NAME: value` at the start of a line: the value runs to the end of the line. */
const LINE_COLON = /^([ \t]*(?:- )?)([A-Za-z_][\w.-]*)([ \t]*:[ \t]+)(\S[^\r\n]*?)[ \t]*$/gm

/** Inline `NAME=value`, `NAME = value`, `NAME: value` (one token or a quoted string). */
const INLINE_ASSIGN = new RegExp(
  `(?<![\\w.$-])([A-Za-z_][\\w.-]*)([ \\t]*[=:][ \\t]*)(${QUOTED_VALUE}|${UNQ("&;,")})`,
  "g"
)

/** Config-style `NAME value` on a line of exactly two fields (`requirepass foobared`). */
const CONFIG_PAIR = new RegExp(`^([ \\t]*)([A-Za-z_][\\w.-]*)([ \\t]+)(${QUOTED_VALUE}|(?![=:])${UNQ("")})[ \\t]*$`, "gm")

/** Where a header value ends inside `rest` (the text up to the end of the line). */
const headerValueEnd = (rest: string, opener: string): number => {
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]!
    if (c === "\\") {
      const n = rest[i + 1]
      // an escaped newline, tab or quote: the value (inside a JSON string) ends here
      if (n === "n" || n === "r" || n === "t" || n === '"') return i
      i++
      continue
    }
    if ((opener === '"' || opener === "'") && c === opener) return i
    if (c === '"' && /^\s*([,}\]:]|$)/.test(rest.slice(i + 1))) return i
  }
  return rest.length
}

const isPveTokenName = (name: string) => name.toLowerCase() === "pveapitoken"

/**
 * Like `String.replace` with a global regex and a callback, except that a match the callback declines
 * (returns undefined) consumes only `skip(match)` characters, so a non-secret `a=b` cannot swallow a
 * secret assignment that overlaps its value (`x=password=abc`, `https://h/?api_key=abc`).
 */
const replaceOverlapping = (
  text: string,
  pattern: RegExp,
  skip: (m: RegExpExecArray) => number,
  fn: (m: RegExpExecArray) => string | undefined
): string => {
  const re = new RegExp(pattern.source, pattern.flags.includes("g") ? pattern.flags : pattern.flags + "g")
  let out = ""
  let last = 0
  let m: RegExpExecArray | null
  while ((m = re.exec(text)) !== null) {
    const replacement = fn(m)
    if (replacement === undefined) {
      re.lastIndex = m.index + Math.max(1, skip(m))
      continue
    }
    out += text.slice(last, m.index) + replacement
    last = m.index + m[0].length
    re.lastIndex = last
  }
  return out + text.slice(last)
}

/** Indentation of a pretty-printed JSON document (undefined = compact). */
const jsonIndent = (text: string): string | undefined => /\n([ \t]+)\S/.exec(text)?.[1]?.slice(0, 10)

/**
 * A whole JSON document is redacted as the parsed structure (lessons D7) and serialized again in the
 * same style, so the result is always valid JSON; without findings the input comes back unchanged.
 */
const redactJsonDocument = (input: string, extra: ReadonlyArray<string>, counter: Counter): string | undefined => {
  const t = input.trim()
  if (!((t.startsWith("{") && t.endsWith("}")) || (t.startsWith("[") && t.endsWith("]")))) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(t)
  } catch {
    return undefined
  }
  const local: Counter = { count: 0 }
  const out = redactValueWith(parsed, extra, local)
  if (local.count === 0) return input
  counter.count += local.count
  const start = input.indexOf(t)
  return `${input.slice(0, start)}${JSON.stringify(out, null, jsonIndent(t))}${input.slice(start + t.length)}`
}

export const redactTextWith = (input: string, extra: ReadonlyArray<string>, counter: Counter): string => {
  const asJson = redactJsonDocument(input, extra, counter)
  if (asJson !== undefined) return asJson
  let text = input

  // PEM blocks: header and footer kept, body replaced (to the end of the text when the END line is cut).
  text = text.replace(PEM, (whole, label: string, body: string, end: string | undefined) => {
    if (body.trim() === REDACTED) return whole
    if (body.replace(/\\[nrt]/g, "").trim().length === 0) return whole
    counter.count++
    // keep the line-break style: real newlines, or `\n` escapes inside a JSON string
    const nl = body.startsWith("\\r\\n")
      ? "\\r\\n"
      : body.startsWith("\\n")
        ? "\\n"
        : body.includes("\r\n")
          ? "\r\n"
          : body.includes("\n")
            ? "\n"
            : "" // a one-line block (possibly inside a JSON string): never inject a raw newline
    return `-----BEGIN ${label}-----${nl}${REDACTED}${end !== undefined ? `${nl}${end}` : ""}`
  })

  for (const pattern of TOKEN_PATTERNS) {
    text = text.replace(pattern, () => {
      counter.count++
      return REDACTED
    })
  }

  text = text.replace(PVE_TOKEN, (_whole, prefix: string, id: string, secret: string) => {
    if (secret === REDACTED) return `${prefix}${id}=${secret}`
    counter.count++
    return `${prefix}${id}=${REDACTED}`
  })

  text = text.replace(URL_CREDENTIALS, (whole, scheme: string, user: string, secret: string) => {
    if (secret === REDACTED) return whole
    counter.count++
    return `${scheme}${user}:${REDACTED}@`
  })

  // Header values run to the end of the line, or to the closing quote when the header is quoted
  // (`curl -H 'Authorization: Bearer a b' https://…`), and never past a JSON string's end or escape.
  text = text.replace(HEADERS, (whole, q: string, name: string, sep: string, rest: string) => {
    const end = headerValueEnd(rest, q)
    const value = rest.slice(0, end)
    const trimmed = value.trimEnd()
    if (trimmed.length === 0 || trimmed === REDACTED) return whole
    if (!trimmed.includes(REDACTED)) counter.count++
    return `${q}${name}${sep}${REDACTED}${rest.slice(trimmed.length)}`
  })

  text = text.replace(SECRET_FLAG, (whole, flag: string, sep: string, value: string) => {
    if (!sep.startsWith("=") && value.startsWith("-")) return whole
    return `${flag}${sep}${maskValue(value, counter)}`
  })

  text = text.replace(MYSQL_P, (_whole, prog: string, mid: string, value: string) => `${prog}${mid}-p${maskValue(value, counter)}`)

  text = text.replace(
    CURL_USER,
    (whole, mid: string, flag: string, sep: string, u1?: string, s1?: string, u2?: string, s2?: string, u3?: string, s3?: string) => {
      const q = s1 !== undefined ? "'" : s2 !== undefined ? '"' : ""
      const user = u1 ?? u2 ?? u3 ?? ""
      const secret = s1 ?? s2 ?? s3 ?? ""
      if (secret === REDACTED) return whole
      counter.count++
      return `curl${mid}${flag}${sep}${q}${user}:${REDACTED}${q}`
    }
  )

  text = text.replace(SSHPASS, (_whole, mid: string, sep: string, value: string) => `sshpass${mid}-p${sep}${maskValue(value, counter)}`)

  // a number under a secret key becomes the quoted marker, so JSON stays JSON
  text = text.replace(QUOTED_KEY_VALUE, (whole, q: string, name: string, sep: string, value: string) => {
    if (!isSecretKeyNormalized(name, extra) || isPveTokenName(name)) return whole
    const quoted = /^-?\d/.test(value) ? `"${value}"` : value
    return `${q}${name}${q}${sep}${maskValue(quoted, counter)}`
  })

  text = text.replace(ESCAPED_KEY_VALUE, (whole, q: string, name: string, sep: string, value: string) => {
    if (!isSecretKeyNormalized(name, extra) || isPveTokenName(name)) return whole
    const quoted = /^-?\d/.test(value) ? `\\"${value}\\"` : value
    return `${q}${name}${q}${sep}${maskValue(quoted, counter)}`
  })

  text = text.replace(LINE_COLON, (whole, lead: string, name: string, sep: string, value: string) => {
    if (!isSecretKeyNormalized(name, extra) || isPveTokenName(name)) return whole
    return `${lead}${name}${sep}${maskValue(value, counter)}${whole.slice(lead.length + name.length + sep.length + value.length)}`
  })

  text = replaceOverlapping(
    text,
    INLINE_ASSIGN,
    (m) => m[1]!.length + m[2]!.length,
    (m) => {
      const [, name, sep, value] = m as unknown as [string, string, string, string]
      if (!isSecretKeyNormalized(name, extra) || isPveTokenName(name)) return undefined
      return `${name}${sep}${maskValue(value, counter)}`
    }
  )

  text = text.replace(CONFIG_PAIR, (whole, lead: string, name: string, sep: string, value: string) => {
    if (!isSecretKeyNormalized(name, extra) || isPveTokenName(name)) return whole
    return `${lead}${name}${sep}${maskValue(value, counter)}${whole.slice(lead.length + name.length + sep.length + value.length)}`
  })

  return text
}

// ---------------------------------------------------------------------------------------------------
// Structured mode
// ---------------------------------------------------------------------------------------------------

const ENV_ITEM = /^([A-Za-z_][A-Za-z0-9_.-]*)=([\s\S]*)$/

/** Strings longer than this are redacted each time they occur (they rarely repeat). */
const MEMO_MAX_CHARS = 1024

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== "object" || v === null) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/** A leaf under a secret key: strings and numbers are hidden; null, booleans and "" hold no secret. */
const maskLeaf = (v: unknown, counter: Counter): unknown => {
  if (typeof v === "string") {
    if (v.length === 0 || v === REDACTED) return v
    if (!v.includes(REDACTED)) counter.count++
    return REDACTED
  }
  if (typeof v === "number" || typeof v === "bigint") {
    counter.count++
    return REDACTED
  }
  return v
}

export const redactValueWith = (value: unknown, extra: ReadonlyArray<string>, counter: Counter): unknown => {
  const seen = new WeakSet<object>()
  // A census repeats the same strings and keys hundreds of times ("running", a reason, `status`): text
  // redaction is a function of the text alone, so each distinct string and key is worked out once.
  const texts = new Map<string, { readonly out: string; readonly count: number }>()
  const secretKeys = new Map<string, boolean>()
  const text = (v: string): string => {
    const known = texts.get(v)
    if (known !== undefined) {
      counter.count += known.count
      return known.out
    }
    const local: Counter = { count: 0 }
    const out = redactTextWith(v, extra, local)
    if (v.length <= MEMO_MAX_CHARS) texts.set(v, { out, count: local.count })
    counter.count += local.count
    return out
  }
  const secretKey = (k: string): boolean => {
    let known = secretKeys.get(k)
    if (known === undefined) secretKeys.set(k, (known = isSecretKeyNormalized(k, extra)))
    return known
  }

  const walk = (v: unknown, underSecret: boolean): unknown => {
    if (typeof v === "string") {
      if (underSecret) return maskLeaf(v, counter)
      return text(v)
    }
    if (Array.isArray(v)) {
      if (seen.has(v)) return "[Circular]"
      seen.add(v)
      const out = v.map((item) => {
        if (!underSecret && typeof item === "string") {
          const m = ENV_ITEM.exec(item)
          if (m !== null && secretKey(m[1]!)) {
            const masked = maskLeaf(m[2]!, counter)
            return `${m[1]}=${masked as string}`
          }
        }
        return walk(item, underSecret)
      })
      seen.delete(v)
      return out
    }
    if (isPlainObject(v)) {
      if (seen.has(v)) return "[Circular]"
      seen.add(v)
      const out: Record<string, unknown> = {}
      for (const [k, child] of Object.entries(v)) {
        out[k] = walk(child, underSecret || secretKey(k))
      }
      seen.delete(v)
      return out
    }
    if (underSecret) return maskLeaf(v, counter)
    return v
  }

  return walk(value, false)
}
