/**
 * The toolkit of each tier (tools.md §2): `Tool.toolkit<Caps>()` only accepts tools whose requirements
 * the tier provides, so a companion tool in the observe toolkit is a compile error
 * (test/types/tier-toolkits.ts proves it).
 */
import * as Tool from "@homelab-mcp/core/Tool"
import type { Tier } from "@homelab-mcp/core/Tier"
import type { ObserveCaps, OperateCaps, RootCaps } from "./Capabilities.js"
import { describe_homelab } from "./tools/describe_homelab.js"
import { guest_restart } from "./tools/guest_restart.js"
import { guest_start } from "./tools/guest_start.js"
import { guest_stop } from "./tools/guest_stop.js"
import { health_check } from "./tools/health_check.js"
import { pct_list } from "./tools/pct_list.js"
import { qm_list } from "./tools/qm_list.js"
import { query_audit } from "./tools/query_audit.js"

/** The observe tools. */
export const observeTools = Tool.toolkit<ObserveCaps>()(describe_homelab, health_check, pct_list, qm_list, query_audit)

/** The operate tools: observe's plus the power actions. */
export const operateTools = Tool.toolkit<OperateCaps>()(...observeTools, guest_start, guest_stop, guest_restart)

/**
 * Every tool of a tier, by the registration table (tools.md §2): a tool is listed iff the tier ranks at
 * or above its own. The companion and root toolkits load lazily (their modules pull in the shell parser
 * and SSH), so observe and operate start without them.
 */
export const loadTools = async (tier: Tier): Promise<ReadonlyArray<Tool.AnyTool<RootCaps>>> => {
  switch (tier) {
    case "observe":
      return observeTools
    case "operate":
      return operateTools
    case "companion":
      return (await import("./CompanionToolkit.js")).companionTools
    case "root":
      return (await import("./CompanionToolkit.js")).rootTools
  }
}
