/**
 * Path rules of the file tools (guardrails.md §3) applied the same way by every tool: the requested path
 * is validated (absolute, canonical, no `..` segment, deny/allow lists), and the path a symlink resolves
 * to on the target is validated again before anything is read or written.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { PathRejected } from "@homelab-mcp/core/Errors"
import * as Paths from "@homelab-mcp/core/guardrails/Paths"
import type { LimitsShape } from "../Limits.js"

/** The `path` parameter (tools.md §1): absolute, 1..4096 characters, validated per guardrails.md §3. */
export const PathParam = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(4096),
  Schema.annotations({ description: "Absolute path on the target (no '..' segments; /proc, /sys, /dev are denied by default)" })
)

const lists = (context: "host" | "guest", limits: LimitsShape) =>
  context === "guest"
    ? { deny: limits.guestPathDeny, allow: limits.guestPathAllow }
    : { deny: limits.hostPathDeny, allow: limits.hostPathAllow }

/** Validates a requested path; succeeds with its canonical form. */
export const check = (path: string, context: "host" | "guest", limits: LimitsShape): Effect.Effect<string, PathRejected> =>
  Paths.validatePath(path, context, lists(context, limits))

/** Re-validates the symlink-resolved form of `canonical`; succeeds with the resolved path. */
export const recheck = (
  canonical: string,
  resolved: string,
  context: "host" | "guest",
  limits: LimitsShape
): Effect.Effect<string, PathRejected> =>
  Effect.map(Paths.validateResolved(canonical, resolved, context, lists(context, limits)), (r) => r.resolvedPath)

