import { describe, expect, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as DataDir from "@homelab-mcp/core/DataDir"

const read = (env: Record<string, string>) => <A>(self: Effect.Effect<A, unknown>) =>
  Effect.runSync(Effect.withConfigProvider(self, ConfigProvider.fromMap(new Map(Object.entries(env)))))

describe("DataDir", () => {
  it("resolves MCP_DATA_DIR, else the platform's data folder", () => {
    expect(DataDir.resolve({ mcpDataDir: "/srv/mcp", platform: "linux", home: "/home/a" })).toBe("/srv/mcp")
    expect(DataDir.resolve({ platform: "win32", localAppData: "C:\\Users\\a\\AppData\\Local", home: "C:\\Users\\a" })).toBe("C:\\Users\\a\\AppData\\Local\\homelab-mcp")
    expect(DataDir.resolve({ platform: "linux", xdgDataHome: "/x", home: "/home/a" })).toBe("/x/homelab-mcp")
    expect(DataDir.resolve({ platform: "darwin", home: "/Users/a" })).toBe("/Users/a/.local/share/homelab-mcp")
  })

  it("a file's own variable overrides the data directory; blank counts as unset", () => {
    const audit = DataDir.under("MCP_AUDIT_LOG_PATH", "audit.jsonl")
    expect(read({ MCP_DATA_DIR: "/d", MCP_AUDIT_LOG_PATH: "/var/log/mcp.jsonl" })(audit)).toBe("/var/log/mcp.jsonl")
    expect(read({ MCP_DATA_DIR: " /d ", MCP_AUDIT_LOG_PATH: "  " })(audit)).toBe(`/d${process.platform === "win32" ? "\\" : "/"}audit.jsonl`)
    expect(read({ MCP_DATA_DIR: "", XDG_DATA_HOME: "/x", HOME: "/h" })(DataDir.config)).toBe(process.platform === "win32" ? "/x\\homelab-mcp" : "/x/homelab-mcp")
  })
})
