/**
 * Cold start of an MCP stdio server: spawn → `initialize` answered → `tools/list` answered, in ms.
 */
import { spawn } from "node:child_process"

/** One measurement: total ms and the number of tools listed. */
export interface ColdStart {
  readonly ms: number
  readonly tools: number
}

/** Spawns `node <args>` with `env`, runs the handshake and `tools/list`, then closes stdin and kills it. */
export const measure = (args: ReadonlyArray<string>, env: Record<string, string>, timeoutMs = 30_000): Promise<ColdStart> =>
  new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, [...args], { env: { PATH: process.env["PATH"] ?? "", ...env }, stdio: ["pipe", "pipe", "pipe"] })
    let buffer = ""
    let stderr = ""
    let done = false
    const timer = setTimeout(() => finish(new Error(`no tools/list answer within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs)
    const finish = (result: ColdStart | Error) => {
      if (done) return
      done = true
      clearTimeout(timer)
      child.stdin.end()
      child.kill()
      if (result instanceof Error) reject(result)
      else resolve(result)
    }
    const send = (message: unknown) => child.stdin.write(JSON.stringify(message) + "\n")
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString("utf8")))
    child.on("exit", (code) => finish(new Error(`exited with ${code} before tools/list; stderr: ${stderr}`)))
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8")
      const lines = buffer.split("\n")
      buffer = lines.pop() ?? ""
      for (const line of lines) {
        if (line.trim() === "") continue
        const message = JSON.parse(line) as { id?: number; result?: { tools?: Array<unknown> } }
        if (message.id === 1) {
          send({ jsonrpc: "2.0", method: "notifications/initialized" })
          send({ jsonrpc: "2.0", id: 2, method: "tools/list" })
        } else if (message.id === 2) {
          finish({ ms: performance.now() - t0, tools: message.result?.tools?.length ?? 0 })
        }
      }
    })
    send({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "homelab-mcp-bench", version: "1" } }
    })
  })

/** The median of a non-empty list. */
export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
