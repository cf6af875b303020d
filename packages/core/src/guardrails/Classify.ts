/**
 * Command classification on a real shell parse (guardrails.md §1). Pure, synchronous and deterministic:
 * the command is parsed by mvdan/sh (bash dialect), every simple command anywhere in it is normalized
 * (quotes evaluated, assignment prefixes dropped, wrappers peeled, nested shells parsed recursively) and
 * checked against the protected set, the deny and confirm tables and the operator's extra rules. The
 * most severe finding wins. Input that does not parse is deny.
 */
import * as Effect from "effect/Effect"
import { CommandDenied } from "../Errors.js"
import * as Analyze from "./internal/analyze.js"

/** The three classes, least to most severe. */
export type CommandClass = "allow" | "confirm" | "deny"

/** Where the command runs: the node itself (`execute`) or inside a guest (`pct_exec`, `qm_exec`). */
export type CommandContext = "host" | "guest"

/** The classification of one command line. */
export interface Classification {
  readonly class: CommandClass
  /** Why, for every finding at the winning severity (empty for allow). */
  readonly reasons: ReadonlyArray<string>
  /** Annotation only (lessons B5): never gates. */
  readonly heavy: boolean
  readonly heavyReason?: string
  /** True when a protected-set rule (guardrails.md §1.2) fired. */
  readonly protected?: boolean
}

/** Operator extensions (`MCP_COMMAND_DENY_EXTRA`, `MCP_COMMAND_CONFIRM_EXTRA`) and the starting cwd. */
export interface ClassifyOptions {
  /** `;`-separated rules or a list of rules: a program name plus words that must appear in order. */
  readonly denyExtra?: string | ReadonlyArray<string>
  readonly confirmExtra?: string | ReadonlyArray<string>
  /** The directory the command starts in when known (relative paths resolve against it). */
  readonly cwd?: string
}

const splitRules = (raw: string | ReadonlyArray<string> | undefined): ReadonlyArray<string> =>
  (raw === undefined ? [] : typeof raw === "string" ? raw.split(";") : raw.flatMap((r) => r.split(";")))
    .map((r) => r.trim())
    .filter((r) => r.length > 0)

/** Parses an extension rule list (`docker system prune; systemctl stop pihole-FTL`). */
export const parseExtraRules = (
  raw: string | ReadonlyArray<string> | undefined,
  severity: "deny" | "confirm"
): ReadonlyArray<Analyze.ExtraRule> =>
  splitRules(raw).map((source) => {
    const [program, ...words] = source.split(/\s+/)
    return { severity, program: Analyze.programName(program!), words, source }
  })

/** Classifies `command` for `context`; never throws (unparseable input is deny). */
export const classify = (command: string, context: CommandContext, options: ClassifyOptions = {}): Classification => {
  const scope = Analyze.Scope.root({
    context,
    extra: [...parseExtraRules(options.denyExtra, "deny"), ...parseExtraRules(options.confirmExtra, "confirm")],
    cwd: options.cwd
  })
  try {
    Analyze.analyzeScript(command, scope)
  } catch {
    // a defect in the walker must not turn into "allow"
    scope.add("deny", Analyze.UNPARSEABLE)
  }
  const { findings, heavy } = scope.out
  const cls: CommandClass = findings.some((f) => f.severity === "deny")
    ? "deny"
    : findings.some((f) => f.severity === "confirm")
      ? "confirm"
      : "allow"
  const reasons = cls === "allow" ? [] : findings.filter((f) => f.severity === cls).map((f) => f.reason)
  const isProtected = findings.some((f) => f.protected === true)
  return {
    class: cls,
    reasons,
    heavy: heavy.length > 0,
    ...(heavy.length > 0 ? { heavyReason: heavy.join("; ") } : {}),
    ...(isProtected ? { protected: true } : {})
  }
}

/** Effect form: succeeds with the classification unless it is deny, which fails with `CommandDenied`. */
export const classifyOrDeny = Effect.fn("Classify.classifyOrDeny")(function* (
  command: string,
  context: CommandContext,
  options: ClassifyOptions = {}
) {
  const c = classify(command, context, options)
  if (c.class === "deny") return yield* new CommandDenied({ reasons: [...c.reasons] })
  return c
})

/** The `MAX_DEPTH` of nested shells (`bash -c "sh -c …"`); deeper is deny. */
export const MAX_NESTING = Analyze.MAX_DEPTH

/** The reason given for input that does not parse. */
export const UNPARSEABLE_REASON = Analyze.UNPARSEABLE
