/**
 * The environment variable forms every setting uses (tiers-setup.md §3), so one variable kind reads the
 * same everywhere: values are trimmed, an empty value means "not set" (the default applies), and a
 * malformed one fails start-up with `NAME: expected <form>, got "<value>"`.
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Either from "effect/Either"
import * as Option from "effect/Option"

const TRUE = new Set(["true", "1", "yes", "on"])
const FALSE = new Set(["false", "0", "no", "off"])

/** The variable's trimmed text; none when it is unset or blank. */
export const text = (name: string): Config.Config<Option.Option<string>> =>
  Config.option(Config.string(name)).pipe(Config.map((raw) => Option.filter(Option.map(raw, (s) => s.trim()), (s) => s !== "")))

/** An optional string variable: `undefined` when unset or blank, else trimmed. */
export const optionalString = (name: string): Config.Config<string | undefined> => text(name).pipe(Config.map(Option.getOrUndefined))

const parsed = <A>(name: string, fallback: A, parse: (raw: string) => Either.Either<A, string>): Config.Config<A> =>
  text(name).pipe(
    Config.mapOrFail((raw) =>
      Option.isNone(raw) ? Either.right(fallback) : Either.mapLeft(parse(raw.value), (message) => ConfigError.InvalidData([name], message))
    )
  )

/** A variable that must be set (not blank): the trimmed value, or `MissingData` naming the expected form. */
export const required = (name: string, expected: string): Config.Config<string> =>
  text(name).pipe(
    Config.mapOrFail((raw) =>
      Option.isSome(raw)
        ? Either.right(raw.value)
        : Either.left(ConfigError.MissingData([name], `is not set (expected ${expected}); run \`homelab-mcp doctor\``))
    )
  )

/** A string variable that must pass `test` (described by `expected`), `fallback` when unset. */
export const checked = (name: string, fallback: string, expected: string, test: (value: string) => boolean): Config.Config<string> =>
  parsed(name, fallback, (raw) => (test(raw) ? Either.right(raw) : Either.left(`expected ${expected}, got ${JSON.stringify(raw)}`)))

/** An integer variable within `[min, max]`, `fallback` when unset. */
export const integer = (name: string, fallback: number, min: number, max: number): Config.Config<number> =>
  parsed(name, fallback, (raw) => {
    const n = Number(raw)
    return /^-?\d+$/.test(raw) && n >= min && n <= max ? Either.right(n) : Either.left(`expected an integer ${min}..${max}, got ${JSON.stringify(raw)}`)
  })

/** A number variable within `[min, max]`, `fallback` when unset. */
export const number = (name: string, fallback: number, min: number, max: number): Config.Config<number> =>
  parsed(name, fallback, (raw) => {
    const n = Number(raw)
    return /^-?(\d+\.?\d*|\.\d+)$/.test(raw) && n >= min && n <= max
      ? Either.right(n)
      : Either.left(`expected a number ${min}..${max}, got ${JSON.stringify(raw)}`)
  })

/** A boolean variable (true/false, 1/0, yes/no, on/off, any case), `fallback` when unset. */
export const boolean = (name: string, fallback: boolean): Config.Config<boolean> =>
  parsed(name, fallback, (raw) => {
    const v = raw.toLowerCase()
    return TRUE.has(v) ? Either.right(true) : FALSE.has(v) ? Either.right(false) : Either.left(`expected true or false, got ${JSON.stringify(raw)}`)
  })

/** One of `values` (exact, after trimming), `fallback` when unset. */
export const literal = <const L extends ReadonlyArray<string>>(name: string, fallback: L[number], values: L): Config.Config<L[number]> =>
  parsed(name, fallback, (raw) =>
    values.includes(raw) ? Either.right(raw as L[number]) : Either.left(`expected one of ${values.join(", ")}, got ${JSON.stringify(raw)}`)
  )

/** A comma-separated list variable (entries trimmed, empty ones dropped), `fallback` when unset. */
export const list = (name: string, fallback: ReadonlyArray<string>): Config.Config<ReadonlyArray<string>> =>
  parsed(name, fallback, (raw) => Either.right(raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0)))
