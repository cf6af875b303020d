/**
 * The companion and root toolkits (tools.md §2), in their own module so the observe and operate tiers
 * never load the shell parser, the backup pipeline or SSH. `Tool.toolkit<CompanionCaps>()` only accepts
 * tools whose requirements the companion tier provides.
 */
import * as Tool from "@homelab-mcp/core/Tool"
import type { CompanionCaps, RootCaps } from "./Capabilities.js"
import { operateTools } from "./toolkits.js"
import { diff_config } from "./tools/diff_config.js"
import { list_backups } from "./tools/list_backups.js"
import { pct_exec } from "./tools/pct_exec.js"
import { pct_read_file } from "./tools/pct_read_file.js"
import { pct_write_file } from "./tools/pct_write_file.js"
import { qm_agent_ping } from "./tools/qm_agent_ping.js"
import { qm_exec } from "./tools/qm_exec.js"
import { qm_read_file } from "./tools/qm_read_file.js"
import { qm_write_file } from "./tools/qm_write_file.js"
import { revert_file } from "./tools/revert_file.js"

/** The companion tools: operate's plus in-guest exec and files, backups and revert (tools.md §2 order). */
export const companionTools = Tool.toolkit<CompanionCaps>()(
  ...operateTools,
  pct_exec,
  pct_read_file,
  pct_write_file,
  qm_agent_ping,
  qm_exec,
  qm_read_file,
  qm_write_file,
  list_backups,
  diff_config,
  revert_file
)

/** The root tools (host shell and files arrive in a later issue). */
export const rootTools = Tool.toolkit<RootCaps>()(...companionTools)
