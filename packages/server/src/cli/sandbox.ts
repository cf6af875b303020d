/**
 * `homelab-mcp sandbox [--seed N] [--lab default|generate:N] [--tier T] [--format env|json]`: starts the
 * sandbox node and prints the environment that points a server at it, then runs until Ctrl-C.
 */
import { parseArgs } from "node:util"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as SandboxOptions from "./SandboxOptions.js"

const quote = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`

/** Runs the sandbox command; resolves with the exit code when interrupted. */
export const sandbox = async (argv: ReadonlyArray<string>): Promise<number> => {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: { seed: { type: "string" }, lab: { type: "string" }, tier: { type: "string" }, format: { type: "string" } }
  })
  const format = values.format ?? "env"
  if (format !== "env" && format !== "json") {
    process.stderr.write(`homelab-mcp: --format ${JSON.stringify(format)}: expected env or json\n`)
    return 2
  }
  const parsed = SandboxOptions.parse(
    {
      ...(values.seed !== undefined ? { seed: values.seed } : {}),
      ...(values.lab !== undefined ? { lab: values.lab } : {}),
      ...(values.tier !== undefined ? { tier: values.tier } : {})
    },
    "companion"
  )
  if (typeof parsed === "string") {
    process.stderr.write(`homelab-mcp: ${parsed}\n`)
    return 2
  }
  const Sandbox = await import("@homelab-mcp/sandbox/Sandbox")
  const program = Effect.scoped(
    Effect.gen(function* () {
      const handle = yield* Sandbox.make(parsed.options)
      const env = { ...handle.env(parsed.tier), MCP_TIER: parsed.tier }
      process.stdout.write(
        format === "json"
          ? JSON.stringify(env, null, 2) + "\n"
          : Object.entries(env).map(([k, v]) => `export ${k}=${quote(v)}`).join("\n") + "\n"
      )
      process.stderr.write(
        `homelab-mcp: sandbox node ${handle.api.node} at ${handle.api.baseUrl}, tier ${parsed.tier}; the secrets above are fake. Ctrl-C stops it.\n`
      )
      return yield* Effect.never
    })
  )
  return new Promise((resolve) => {
    const fiber = Effect.runFork(program)
    const stop = () => Effect.runFork(Fiber.interrupt(fiber))
    process.once("SIGINT", stop)
    process.once("SIGTERM", stop)
    fiber.addObserver((exit) => resolve(Exit.isSuccess(exit) || Exit.isInterrupted(exit) ? 0 : 1))
  })
}
