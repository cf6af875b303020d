/**
 * Drives the BUILT bin (`node packages/server/dist/main.js`) over stdio with the MCP SDK client, the way
 * an MCP host would: each server gets its own data directory and only the environment it is given.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { spawn } from "node:child_process"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { ElicitRequestSchema, type CallToolResult, type ElicitResult } from "@modelcontextprotocol/sdk/types.js"

/** The bundled bin. */
export const BIN = fileURLToPath(new URL("../../packages/server/dist/main.js", import.meta.url))

/** The error payload of an `isError` result. */
export interface ErrorPayload {
  readonly code: string
  readonly message: string
  readonly hint: string
  readonly retryable: boolean
  readonly details?: Record<string, unknown>
}

/** A connected client to a spawned server. */
export interface BinSession {
  readonly client: Client
  readonly stderr: () => string
  readonly call: (name: string, args?: Record<string, unknown>) => Promise<CallToolResult>
  readonly close: () => Promise<void>
  /** Kills the server process with `signal` (the client sees the transport close). */
  readonly kill: (signal: NodeJS.Signals) => void
  /** The server's process id (null once it exited). */
  readonly pid: number | null
  readonly dataDir: string
}

const baseEnv = (): Record<string, string> => {
  const keep = ["PATH", "HOME", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP"]
  const env: Record<string, string> = {}
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k]!
  return env
}

/** Spawns `homelab-mcp serve` with `env` and connects an MCP client over its stdio. */
export const connect = async (
  env: Record<string, string>,
  args: ReadonlyArray<string> = ["serve"],
  options: { readonly elicit?: (message: string) => ElicitResult; readonly dataDir?: string } = {}
): Promise<BinSession> => {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "homelab-mcp-e2e-"))
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, ...args],
    env: { ...baseEnv(), MCP_DATA_DIR: dataDir, ...env },
    stderr: "pipe"
  })
  let stderr = ""
  transport.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8")
  })
  const client = new Client(
    { name: "homelab-mcp-e2e", version: "1.0.0" },
    { capabilities: options.elicit ? { elicitation: { form: {} } } : {} }
  )
  if (options.elicit) {
    const answer = options.elicit
    client.setRequestHandler(ElicitRequestSchema, async (request) => answer(request.params.message))
  }
  try {
    await client.connect(transport)
  } catch (error) {
    throw new Error(`server did not start: ${String(error)}\nstderr:\n${stderr}`)
  }
  return {
    client,
    stderr: () => stderr,
    call: (name, args = {}) => client.callTool({ name, arguments: args }) as Promise<CallToolResult>,
    close: async () => {
      await client.close()
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true })
    },
    get pid() {
      return transport.pid
    },
    kill: (signal) => {
      const pid = transport.pid
      if (pid !== null) process.kill(pid, signal)
    },
    dataDir
  }
}

/** Runs the bin to completion (for startup failures and non-serving commands). */
export const run = (
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  stdin = ""
): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((resolve, reject) => {
    const dataDir = mkdtempSync(join(tmpdir(), "homelab-mcp-e2e-"))
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...baseEnv(), MCP_DATA_DIR: dataDir, ...env } })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString("utf8")))
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")))
    child.on("error", reject)
    child.on("close", (code) => {
      rmSync(dataDir, { recursive: true, force: true })
      resolve({ code, stdout, stderr })
    })
    child.stdin.end(stdin)
  })

/** The `{error}` payload of a failed call (throws if the call succeeded). */
export const errorOf = (result: CallToolResult): ErrorPayload => {
  if (result.isError !== true) throw new Error(`expected an error result, got ${JSON.stringify(result.structuredContent)}`)
  return (result.structuredContent as { error: ErrorPayload }).error
}

/** The structured output of a successful call (throws with the error otherwise). */
export const okOf = <A = Record<string, unknown>>(result: CallToolResult): A => {
  if (result.isError === true) throw new Error(`expected success, got ${JSON.stringify(result.structuredContent)}`)
  return result.structuredContent as A
}
