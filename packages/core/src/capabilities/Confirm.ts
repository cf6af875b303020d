/**
 * The confirm gate (guardrails.md §2), provided per MCP request: elicitation when the client declared it,
 * else the `confirm:true` flag.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { ConfirmationRequired } from "../Errors.js"

/** How a gated operation was confirmed. */
export type ConfirmVia = "elicitation" | "flag"

/** Asks the human before a gated operation. */
export class Confirm extends Context.Tag("@homelab-mcp/core/Confirm")<Confirm, Confirm.Service>() {}

export declare namespace Confirm {
  /** The gate. */
  export interface Service {
    /**
     * Succeeds with how the operation was confirmed, or fails with `ConfirmationRequired` whose message is
     * `prompt` (the concrete blast radius). `confirmFlag` is the tool's `confirm` argument.
     */
    readonly gate: (prompt: string, confirmFlag: boolean) => Effect.Effect<ConfirmVia, ConfirmationRequired>
  }
}

/** A gate without elicitation: only `confirm:true` passes (for in-process embedding and unit tests). */
export const flagOnly: Confirm.Service = {
  gate: (prompt, confirmFlag) =>
    confirmFlag
      ? Effect.succeed("flag" as const)
      : Effect.fail(new ConfirmationRequired({ prompt: `${prompt} Re-issue with confirm:true if the user agrees.` }))
}
