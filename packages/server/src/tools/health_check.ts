/**
 * `health_check` (tools.md §3, census-health.md §2): verdict ok|warn|crit from inclusive thresholds.
 * Below companion only API checks run; `updates`, `failed-units` and `df` are listed in `unavailable[]`
 * and never requested (no `/apt/update`, lessons E2). Probe failures never throw: they are section
 * errors (redacted) and make `complete` false.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { Internal } from "@homelab-mcp/core/Errors"
import * as Tool from "@homelab-mcp/core/Tool"
import { ServerInfo } from "@homelab-mcp/core/capabilities/ServerInfo"
import * as Finalize from "@homelab-mcp/core/census/Finalize"
import * as Settings from "@homelab-mcp/core/census/Settings"
import * as Health from "@homelab-mcp/core/health/Health"
import { HealthSection, healthSections } from "@homelab-mcp/core/health/Rules"
import * as Redact from "@homelab-mcp/core/redaction/Redact"
import { nonEmptyUnique } from "./describe_homelab.js"

/** Input of `health_check`. */
export const Input = Schema.Struct({
  sections: Schema.optional(nonEmptyUnique(HealthSection, healthSections)),
  includePseudoFs: Schema.optionalWith(Schema.Boolean, { default: () => false })
})
export type Input = typeof Input.Type

/** Output of `health_check`. */
export const Output = Health.HealthReport

/** Runs the health check for `input`. */
export const run = (input: Input) =>
  Effect.gen(function* () {
    const settings = yield* Settings.healthConfig.pipe(
      Effect.mapError((e) => new Internal({ opId: "health_check", detail: `invalid health settings: ${String(e)}` }))
    )
    const extraKeys = yield* Settings.censusConfig.pipe(
      Effect.map((c) => c.redactionExtraKeys),
      Effect.orElseSucceed((): ReadonlyArray<string> => [])
    )
    const info = yield* ServerInfo
    const report = yield* Health.check(
      { sections: input.sections ?? healthSections, includePseudoFs: input.includePseudoFs, tier: info.tier },
      settings
    )
    return {
      ...report,
      errors: report.errors.map((e) => ({ ...e, error: Finalize.capErrorText(Redact.redactText(e.error, extraKeys).text) }))
    }
  })

/** The `health_check` tool. */
export const health_check = Tool.make(
  {
    name: "health_check",
    title: "Health check",
    description:
      "Health verdict ok|warn|crit for the Proxmox node: node (load per CPU, memory, ZFS pools), storage (store usage; filesystem usage over SSH at companion+), " +
      "guests (onboot guests not running), units (Proxmox services; failed units over SSH at companion+), updates (pending upgrades over SSH at companion+, as of the node's last apt update, which this tool never runs). " +
      "Thresholds are inclusive. Checks the tier cannot run are listed in unavailable[]. Pseudo filesystems are hidden unless includePseudoFs (summarized in hiddenFindings). " +
      "complete:false means some section could not be checked: ok then means nothing bad in what could be checked.",
    tier: "observe",
    input: Input,
    output: Output,
    annotations: Tool.annotations("T F T F")
  },
  run
)
