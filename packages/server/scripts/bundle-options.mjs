// esbuild options of the homelab-mcp bin, shared with scripts/bench.ts, which bundles the minimal
// comparison server the same way.

/** Shared options, also used by scripts/bench to bundle the minimal comparison server the same way. */
export const bundleOptions = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  legalComments: "none",
  logLevel: "warning",
  banner: {
    js:
      "import { createRequire as __homelabCreateRequire } from 'node:module'; import { fileURLToPath as __homelabToPath } from 'node:url'; import { dirname as __homelabDirname } from 'node:path'; " +
      "const require = __homelabCreateRequire(import.meta.url); const __filename = __homelabToPath(import.meta.url); const __dirname = __homelabDirname(__filename);"
  },
  // Optional native accelerators of ssh2; the pure-JS fallbacks are used.
  external: ["cpu-features", "*.node"]
}

