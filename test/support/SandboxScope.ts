/**
 * Starts a sandbox node in the test process for a vitest suite (closed in afterAll).
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Sandbox from "@homelab-mcp/sandbox/Sandbox"

/** A started sandbox and how to stop it. */
export interface Started {
  readonly handle: Sandbox.SandboxHandle
  readonly close: () => Promise<void>
}

/** Starts a sandbox (fast virtual time, no 401 delay, no SSH unless asked). */
export const start = async (options: Sandbox.SandboxOptions = {}): Promise<Started> => {
  const scope = Effect.runSync(Scope.make())
  const handle = await Effect.runPromise(
    Scope.extend(Sandbox.make({ seed: 1, timeScale: 0.01, authFailureDelay: 0, ssh: false, ...options }), scope)
  )
  return { handle, close: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
}
