/**
 * `homelab-mcp tools [--tier T] [--json]`: the tool table of a tier (name, tier, annotations, title).
 */
import * as Tier from "@homelab-mcp/core/Tier"
import type * as Tool from "@homelab-mcp/core/Tool"
import type { RootCaps } from "../Capabilities.js"
import { loadTools } from "../toolkits.js"

const flag = (b: boolean) => (b ? "T" : "F")

/** Renders the tool table of `tier` as aligned text. */
export const table = (list: ReadonlyArray<Tool.AnyTool<RootCaps>>): string => {
  const rows = list.map((t) => {
    const a = t.contract.annotations
    return [t.contract.name, t.contract.tier, `${flag(a.readOnlyHint)} ${flag(a.destructiveHint)} ${flag(a.idempotentHint)} ${flag(a.openWorldHint)}`, t.contract.title]
  })
  const all = [["tool", "tier", "R D I O", "title"], ...rows]
  const widths = [0, 1, 2].map((i) => Math.max(...all.map((r) => r[i]!.length)))
  return all.map((r) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join("  ")).join("\n") + "\n"
}

/** Prints the table (or JSON) of the requested tier; an unknown tier is an error naming the accepted ones. */
export const tools = async (options: { readonly tier?: string; readonly json: boolean }): Promise<number> => {
  const raw = options.tier ?? process.env["MCP_TIER"] ?? "observe"
  if (!(Tier.tiers as ReadonlyArray<string>).includes(raw)) {
    process.stderr.write(`homelab-mcp: --tier ${JSON.stringify(raw)} is not a tier; expected one of ${Tier.tiers.join(", ")}\n`)
    return 2
  }
  const tier = raw as Tier.Tier
  const registered = await loadTools(tier)
  if (options.json) {
    const list = registered.map((t) => ({ name: t.contract.name, tier: t.contract.tier, title: t.contract.title, annotations: t.contract.annotations }))
    process.stdout.write(JSON.stringify({ tier, tools: list }, null, 2) + "\n")
  } else {
    process.stdout.write(`tier: ${tier} (${registered.length} tools)\n${table(registered)}`)
  }
  return 0
}
