/**
 * Shared redaction (census-health.md §3). Pure and deterministic: every secret found is replaced by
 * `[REDACTED]` and counted exactly once; redacting an already redacted text finds nothing new.
 *
 * Text mode works on free text (logs, command lines, config files, serialized documents). Structured
 * mode walks parsed values (maps, arrays, env lists), judging object keys and `KEY=value` array items by
 * their key and sending every other string through text mode.
 */
import * as Config from "effect/Config"
import * as Option from "effect/Option"
import * as ConfigVars from "../ConfigVars.js"
import * as Rules from "./internal/rules.js"

/** The marker that replaces every secret. */
export const REDACTED = Rules.REDACTED

/** Result of text-mode redaction: the redacted text and how many secrets were replaced. */
export interface RedactedText {
  readonly text: string
  readonly count: number
}

/** Result of structured-mode redaction: a new value (the input is never mutated) and the count. */
export interface RedactedValue {
  readonly value: unknown
  readonly count: number
}

/**
 * True when a key name looks secret: it contains (case-insensitively) one of the built-in fragments
 * (`pass`, `secret`, `token`, `auth`, `cookie`, `session`, `psk`, `wireguard…key`, …) or one of
 * `extraKeys`. Extra keys only extend the built-in list.
 */
export const isSecretKey = (key: string, extraKeys: ReadonlyArray<string> = []): boolean =>
  Rules.isSecretKey(key, extraKeys)

/** Text mode: replaces every secret pattern of census-health.md §3 by `[REDACTED]`, counting each once. */
export const redactText = (text: string, extraKeys: ReadonlyArray<string> = []): RedactedText => {
  const counter = { count: 0 }
  const out = Rules.redactTextWith(text, Rules.normalizeExtraKeys(extraKeys), counter)
  return { text: out, count: counter.count }
}

/**
 * Structured mode: a value under a secret-looking key becomes `[REDACTED]` (null, booleans and empty
 * strings are kept: they hold no secret); `KEY=value` strings in arrays are judged by their key; every
 * other string goes through text mode. Never mutates the input; cycles are cut with `[Circular]`.
 */
export const redactValue = (value: unknown, extraKeys: ReadonlyArray<string> = []): RedactedValue => {
  const counter = { count: 0 }
  const out = Rules.redactValueWith(value, Rules.normalizeExtraKeys(extraKeys), counter)
  return { value: out, count: counter.count }
}

/**
 * Parses `MCP_REDACTION_EXTRA_KEYS` (comma- or semicolon-separated names) into the list `redactText`
 * and `redactValue` accept; blanks are dropped.
 */
export const parseExtraKeys = (raw: string | undefined): ReadonlyArray<string> =>
  raw === undefined
    ? []
    : raw
        .split(/[,;]/)
        .map((s) => s.trim())
        .filter((s) => s.length > 0)

/** `MCP_REDACTION_EXTRA_KEYS` as every reader (census, file reads, audit log) takes it: `parseExtraKeys` of the trimmed value. */
export const extraKeysConfig: Config.Config<ReadonlyArray<string>> = ConfigVars.text("MCP_REDACTION_EXTRA_KEYS").pipe(
  Config.map((raw) => parseExtraKeys(Option.getOrUndefined(raw)))
)
