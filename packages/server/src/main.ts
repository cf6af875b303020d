/**
 * The `homelab-mcp` bin (bundled to dist/main.js). Arguments are parsed with `node:util` parseArgs to
 * keep cold start small; each command's module is loaded only when it runs.
 */
import { parseArgs } from "node:util"
import { gitSha, version } from "./BuildInfo.js"

const HELP = `homelab-mcp ${version} (${gitSha}): an MCP server that lets an AI assistant operate one Proxmox VE node in tiers of trust

Usage:
  homelab-mcp [serve]                 serve MCP over stdio (the default); configuration from the environment
  homelab-mcp serve --sandbox [opts]  start an in-process sandbox node and serve against it (default tier: companion)
  homelab-mcp sandbox [opts]          start the sandbox and print the environment to point a server at it
  homelab-mcp tools [--tier T] [--json]  print the tool table of a tier (default: MCP_TIER or observe)
  homelab-mcp --help | --version

Sandbox options (serve --sandbox, sandbox):
  --seed N            lab seed (default 1)
  --lab L             default | generate:N
  --tier T            tier the sandbox provisions its token for (observe|operate|companion)

Environment (tiers-setup.md §3): MCP_TIER (observe|operate|companion), MCP_HOST_ROOT_ENABLED,
PVE_API_BASE_URL, PVE_API_TOKEN_ID, PVE_API_TOKEN_SECRET[_FILE], PVE_API_NODE, PVE_API_TLS_FINGERPRINT,
MCP_DATA_DIR, MCP_AUDIT_LOG_PATH, MCP_CONFIRM_ELICIT, MCP_LOG_LEVEL, …  stdout carries only MCP frames;
diagnostics go to stderr.
`

const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: "boolean", short: "h" },
      version: { type: "boolean", short: "v" },
      sandbox: { type: "boolean" },
      tier: { type: "string" },
      json: { type: "boolean" },
      seed: { type: "string" },
      lab: { type: "string" },
      format: { type: "string" },
      faults: { type: "string" },
      profile: { type: "string" }
    }
  })
  if (values.version === true) {
    process.stdout.write(`homelab-mcp ${version} (${gitSha})\n`)
    return 0
  }
  const command = positionals[0] ?? "serve"
  if (values.help === true || command === "help") {
    process.stdout.write(HELP)
    return 0
  }
  if (positionals.length > 1) throw new TypeError(`unexpected argument ${JSON.stringify(positionals[1])}`)
  switch (command) {
    case "serve": {
      if (values.sandbox !== true) {
        const { fastServe } = await import("./cli/fastServe.js")
        const code = await fastServe(new URL("./descriptors.json", import.meta.url))
        if (code !== undefined) return code
      }
      const { serve } = await import("./cli/serve.js")
      return serve({
        sandbox: values.sandbox === true,
        ...(values.tier !== undefined ? { tier: values.tier } : {}),
        ...(values.seed !== undefined ? { seed: values.seed } : {}),
        ...(values.lab !== undefined ? { lab: values.lab } : {})
      })
    }
    case "sandbox": {
      const { sandbox } = await import("./cli/sandbox.js")
      return sandbox(argv.filter((a) => a !== "sandbox"))
    }
    case "descriptors": {
      const { descriptors } = await import("./cli/descriptors.js")
      return descriptors()
    }
    case "tools": {
      const { tools } = await import("./cli/tools.js")
      return tools({ ...(values.tier !== undefined ? { tier: values.tier } : {}), json: values.json === true })
    }
    default:
      throw new TypeError(`unknown command ${JSON.stringify(command)}; expected serve, sandbox or tools`)
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error)
    process.stderr.write(`homelab-mcp: ${message}\nRun \`homelab-mcp --help\` for usage.\n`)
    process.exitCode = 2
  }
)
