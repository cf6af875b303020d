// Bundles the homelab-mcp bin: dist/main.js is the ESM entry; esbuild splitting puts lazily imported
// modules (serve, sandbox, tools, heavy transports) into dist/chunks/ so a tier loads only what it uses.
// Version and git sha are embedded with `define`.
import { execFileSync } from "node:child_process"
import { readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { build } from "esbuild"
import { bundleOptions } from "./bundle-options.mjs"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"))
let sha = "unknown"
try {
  sha = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, stdio: ["ignore", "pipe", "ignore"] }).toString().trim()
} catch {
  // not a git checkout: keep "unknown"
}

const out = join(root, "dist")
rmSync(out, { recursive: true, force: true })
await build({
  ...bundleOptions,
  entryPoints: { main: join(root, "src/main.ts") },
  outdir: out,
  metafile: false,
  define: {
    __HOMELAB_MCP_VERSION__: JSON.stringify(pkg.version),
    __HOMELAB_MCP_GIT_SHA__: JSON.stringify(sha)
  }
})
// The exact tools/list answer of each tier, for the stdio fast path (src/cli/fastServe.ts).
const descriptors = execFileSync(process.execPath, [join(out, "main.js"), "descriptors"], { env: { PATH: process.env.PATH ?? "" } })
writeFileSync(join(out, "descriptors.json"), descriptors)
process.stderr.write(`built ${join(out, "main.js")} (homelab-mcp ${pkg.version}, ${sha})\n`)
