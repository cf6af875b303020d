/**
 * Type-level tier test (run by `pnpm typecheck`): a tool that needs a companion capability does not
 * compile into the observe or operate toolkit; the same tool compiles into the companion toolkit, and a
 * tool needing a capability no tier provides yet (config history) compiles nowhere.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Tool from "@homelab-mcp/core/Tool"
import { ConfigHistory } from "@homelab-mcp/core/capabilities/ConfigHistory"
import { NodeShell } from "@homelab-mcp/core/capabilities/NodeShell"
import type { CompanionCaps, ObserveCaps, OperateCaps } from "../../src/Capabilities.js"
import { companionTools } from "../../src/CompanionToolkit.js"
import { observeTools, operateTools } from "../../src/toolkits.js"
import { guest_start } from "../../src/tools/guest_start.js"
import { pct_list } from "../../src/tools/pct_list.js"

const contract = (name: string) => ({
  name,
  title: name,
  description: "type-level fixture",
  tier: "companion" as const,
  input: Schema.Struct({}),
  output: Schema.Struct({}),
  annotations: Tool.annotations("T F T F")
})

/** A companion tool: needs the node shell. */
const needsShell = Tool.make(contract("needs_shell"), () => Effect.as(NodeShell, {}))

/** A companion tool: needs config history. */
const needsHistory = Tool.make(contract("needs_history"), () => Effect.as(ConfigHistory, {}))

// @ts-expect-error NodeShell is not an observe capability: adding a companion tool to the observe toolkit fails.
export const observeWithShell = Tool.toolkit<ObserveCaps>()(pct_list, needsShell)

// @ts-expect-error ConfigHistory is not an operate capability.
export const operateWithHistory = Tool.toolkit<OperateCaps>()(...operateTools, needsHistory)

// @ts-expect-error Tasks (guest_start) is not an observe capability: an operate tool does not fit observe either.
export const observeWithStart = Tool.toolkit<ObserveCaps>()(...observeTools, guest_start)

/** Positive case: the shell tool compiles into the companion toolkit. */
export const companionWithShell = Tool.toolkit<CompanionCaps>()(...companionTools, needsShell)

// @ts-expect-error ConfigHistory has no Layer yet, so no tier provides it: a history tool cannot be registered anywhere.
export const companionWithHistory = Tool.toolkit<CompanionCaps>()(...companionTools, needsHistory)

/** Positive case: the shipped toolkits compile at their own tier. */
export const shipped = [observeTools, operateTools, companionTools] as const
