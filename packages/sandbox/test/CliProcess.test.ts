/** `homelab-mcp sandbox` as a real process: KEY=VALUE lines on stdout, serves, Ctrl-C exits 0 and removes the key directory. */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { request } from "./support/https.js"

const main = join(dirname(fileURLToPath(import.meta.url)), "../src/cli/main.ts")

describe("sandbox CLI process", () => {
  it.live(
    "prints the environment, serves until SIGINT, exits 0 and cleans up",
    () =>
      Effect.gen(function* () {
        const dir = mkdtempSync(join(tmpdir(), "sandbox-cli-test-"))
        const runner = join(dir, "run.mjs")
        writeFileSync(runner, `const { runSandboxCli } = await import(${JSON.stringify(main)})\nprocess.exitCode = await runSandboxCli(process.argv.slice(2))\n`)
        const child = spawn(process.execPath, ["--import", "tsx", runner, "--tier", "companion", "--seed", "3", "--auth-failure-delay", "0"], { stdio: ["ignore", "pipe", "pipe"] })
        let out = ""
        let err = ""
        child.stderr.on("data", (d: Buffer) => (err += d.toString()))
        const env = yield* Effect.async<Record<string, string>>((resume) => {
          child.stdout.on("data", (d: Buffer) => {
            out += d.toString()
            if (out.includes("MCP_TIER=")) resume(Effect.succeed(Object.fromEntries(out.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]))))
          })
        })
        expect(Object.keys(env)).toEqual([
          "PVE_API_BASE_URL", "PVE_API_NODE", "PVE_API_TOKEN_ID", "PVE_API_TOKEN_SECRET", "PVE_API_TLS_FINGERPRINT",
          "SSH_HOST", "SSH_PORT", "SSH_USER", "SSH_KEY_PATH", "SSH_HOST_KEY_FINGERPRINT", "MCP_TIER"
        ])
        const keyPath = env["SSH_KEY_PATH"]!
        expect(existsSync(keyPath)).toBe(true)
        const r = yield* Effect.promise(() => request(env["PVE_API_BASE_URL"]!, "GET", "/nodes/pve/lxc", { token: { id: env["PVE_API_TOKEN_ID"]!, secret: env["PVE_API_TOKEN_SECRET"]! } }))
        expect(r.status).toBe(200)
        expect(err).toMatch(/secrets printed are fake/)
        const code = yield* Effect.async<number | null>((resume) => {
          child.on("exit", (c) => resume(Effect.succeed(c)))
          child.kill("SIGINT")
        })
        expect(code).toBe(0)
        expect(existsSync(dirname(keyPath))).toBe(false)
        rmSync(dir, { recursive: true, force: true })
        expect(existsSync(dir)).toBe(false)
      }),
    30_000
  )
})
