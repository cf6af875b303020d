/**
 * The stdio fast path of `serve` (ADR 0071): the SDK server answers `initialize` and `tools/list` from
 * the descriptors generated at build time, before Effect, the transports and the tier's layer load.
 * The tier's runtime (settings, layer, handlers: cli/engine.ts) starts right after the handshake; tool
 * calls wait for it. A startup failure of the runtime prints its one line on stderr and exits 1.
 * Only the common, unambiguous configurations take this path (MCP_TIER observe/operate/companion or
 * unset, no root flag); anything else goes through the full path, which validates before serving.
 */
import { readFileSync } from "node:fs"
import type { Tool as McpToolDescriptor } from "@modelcontextprotocol/sdk/types.js"
import type { Tier } from "@homelab-mcp/core/Tier"
import { version } from "../BuildInfo.js"
import * as McpShell from "../McpShell.js"
import { StdioTransport } from "../StdioTransport.js"

/** The tier the fast path may serve, or undefined when the full path must decide. */
export const quickTier = (env: NodeJS.ProcessEnv): Tier | undefined => {
  const flag = env["MCP_HOST_ROOT_ENABLED"]
  if (flag !== undefined && flag !== "") return undefined
  const level = env["MCP_TIER"]
  if (level === undefined || level === "") return "observe"
  return level === "observe" || level === "operate" || level === "companion" ? level : undefined
}

const readDescriptors = (url: URL, tier: Tier): ReadonlyArray<McpToolDescriptor> | undefined => {
  try {
    const table = JSON.parse(readFileSync(url, "utf8")) as Record<string, ReadonlyArray<McpToolDescriptor>>
    return table[tier]
  } catch {
    return undefined
  }
}

/** Serves over stdio via the fast path; resolves with the exit code, or `undefined` when the full path must run. */
export const fastServe = async (descriptorsUrl: URL): Promise<number | undefined> => {
  const tier = quickTier(process.env)
  if (tier === undefined) return undefined
  const list = readDescriptors(descriptorsUrl, tier)
  if (list === undefined) return undefined
  const server = McpShell.createServer({ name: "homelab-mcp", version, tier })
  let engine: Promise<import("./engine.js").Engine> | undefined
  let finish: (code: number) => void = () => {}
  const finished = new Promise<number>((resolve) => (finish = resolve))
  const startEngine = () => {
    engine ??= import("./engine.js").then((m) =>
      m.start(server, tier, (line) => {
        process.stderr.write(`homelab-mcp: ${line}\n`)
        finish(1)
      })
    )
    return engine
  }
  McpShell.install(
    server,
    () => {
      setImmediate(startEngine)
      return list
    },
    async (request, extra) => (await (await startEngine()).ready)(request, extra)
  )
  await server.connect(new StdioTransport())
  // Hosts that never list still get the runtime promptly.
  const timer = setTimeout(startEngine, 1000)
  // On stdin's end the configuration is still validated (a bad one exits 1 with its line); signals stop at once.
  const drain = () => {
    void startEngine()
      .then((e) => Promise.race([e.ready, finished]))
      .then(() => finish(0))
  }
  const stop = () => finish(0)
  process.stdin.once("end", drain)
  process.stdin.once("close", drain)
  process.once("SIGINT", stop)
  process.once("SIGTERM", stop)
  const code = await finished
  clearTimeout(timer)
  if (engine !== undefined) await (await engine).shutdown()
  await server.close().catch(() => undefined)
  return code
}
