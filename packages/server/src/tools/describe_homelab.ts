/**
 * `describe_homelab` (tools.md §3, census-health.md §1): the census. API sections at every tier; the
 * SSH sections are `{unavailableAtTier:"companion"}` below companion. The finished document is redacted
 * as a whole, bounded (items and bytes), optionally compared with the newest saved snapshot, and saved.
 * Probe failures go to `errors[]`; the tool fails only when no section could be produced.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Internal } from "@homelab-mcp/core/Errors"
import * as Tool from "@homelab-mcp/core/Tool"
import { CensusStore, fileNameAt } from "@homelab-mcp/core/capabilities/CensusStore"
import { ServerInfo } from "@homelab-mcp/core/capabilities/ServerInfo"
import * as Census from "@homelab-mcp/core/census/Census"
import { CensusDocument, Depth, SCHEMA_VERSION, SectionName, sectionNames } from "@homelab-mcp/core/census/Document"
import * as Drift from "@homelab-mcp/core/census/Drift"
import * as Finalize from "@homelab-mcp/core/census/Finalize"
import * as Settings from "@homelab-mcp/core/census/Settings"
import * as Redact from "@homelab-mcp/core/redaction/Redact"

/** A non-empty list of distinct items (`[]` is rejected: it would silently return nothing; lessons G3). */
export const nonEmptyUnique = <A extends string, I>(item: Schema.Schema<A, I>, all: ReadonlyArray<string>) =>
  Schema.Array(item).pipe(
    Schema.minItems(1, {
      message: () => `sections must name at least one of ${all.join(", ")}; omit it to get every section`
    }),
    Schema.filter((xs) => new Set(xs).size === xs.length || `sections must not repeat an entry`, {
      jsonSchema: { uniqueItems: true }
    })
  )

/** Input of `describe_homelab`. */
export const Input = Schema.Struct({
  sections: Schema.optional(nonEmptyUnique(SectionName, sectionNames)),
  depth: Schema.optionalWith(Depth, { default: () => "summary" as const }),
  saveSnapshot: Schema.optionalWith(Schema.Boolean, { default: () => true }),
  compareToPrevious: Schema.optionalWith(Schema.Boolean, { default: () => false })
})
export type Input = typeof Input.Type

/** Output of `describe_homelab`: the census document. */
export const Output = CensusDocument

/** Bytes kept free for the snapshot id (`"census-…json"` instead of `null`) and a possible save error. */
const SAVE_RESERVE = fileNameAt(0).length + 2 + 640

const decodeBaseline = Schema.decodeUnknownOption(CensusDocument)

/** Runs the census for `input` (exported for tests and the bench). */
export const run = (input: Input) =>
  Effect.gen(function* () {
    const settings = yield* Settings.censusConfig.pipe(
      Effect.mapError((e) => new Internal({ opId: "describe_homelab", detail: `invalid census settings: ${String(e)}` }))
    )
    const info = yield* ServerInfo
    const store = yield* CensusStore
    const collected = yield* Census.collect(
      { sections: input.sections ?? sectionNames, depth: input.depth, tier: info.tier, host: info.host },
      settings
    )
    if (!collected.producedAny && collected.firstError !== null) return yield* Effect.fail(collected.firstError)
    let doc = Finalize.redactDocument(collected.doc, (v) => Redact.redactValue(v, settings.redactionExtraKeys))
    const extraErrors: Array<{ section: string; probe: string; error: string }> = []
    if (input.compareToPrevious) {
      const latest = yield* Effect.either(store.loadLatest(SCHEMA_VERSION))
      if (latest._tag === "Left") {
        extraErrors.push({ section: "_snapshot", probe: "load", error: Finalize.capErrorText(Redact.redactText(latest.left.message).text) })
      } else {
        const baseline = Option.flatMap(latest.right, (saved) =>
          Option.map(decodeBaseline(saved.doc), (d): Drift.Baseline => ({ snapshotId: saved.snapshotId, doc: d }))
        )
        doc = { ...doc, drift: Drift.compute(doc, Option.getOrNull(baseline), settings.storageDriftPct) }
      }
    }
    if (extraErrors.length > 0) doc = { ...doc, errors: [...doc.errors, ...extraErrors] }
    doc = Finalize.fitResponse(doc, settings.maxResponseBytes, input.saveSnapshot ? SAVE_RESERVE : 0)
    if (input.saveSnapshot) {
      const { drift: _drift, ...snapshot } = doc
      const saved = yield* Effect.either(store.save(snapshot))
      doc =
        saved._tag === "Right"
          ? { ...doc, snapshotId: saved.right }
          : {
              ...doc,
              errors: [
                ...doc.errors,
                { section: "_snapshot", probe: "save", error: Finalize.capErrorText(Redact.redactText(saved.left.message).text) }
              ]
            }
    }
    return doc
  })

/** The `describe_homelab` tool. */
export const describe_homelab = Tool.make(
  {
    name: "describe_homelab",
    title: "Describe the homelab (census)",
    description:
      "Census of the Proxmox node: node (version, kernel, uptime, CPU, memory, load, ZFS pools), storage, network, containers and VMs " +
      "(depth summary|status|full; status adds lock, tags, onboot, uptime, CPUs, memory, snapshot capability and VM agent state; full adds each guest's config, redacted). " +
      "services and tailscale need SSH and read {unavailableAtTier:\"companion\"} below companion. Read-only: never runs apt update or changes the node. " +
      "Secrets are redacted (count in redactions); lists are capped with explicit truncations. saveSnapshot (default true) saves the document; " +
      "compareToPrevious reports drift against the newest saved snapshot (mode seeded on the first run; sections not observed on both sides are listed in notCompared). " +
      "Probe failures are listed in errors[]; the call fails only if no section could be produced.",
    tier: "observe",
    input: Input,
    output: Output,
    annotations: Tool.annotations("T F T F")
  },
  run
)
