// Builds static/dist from GOV.UK Frontend and the portal's own sources.
// Every file gets a content-hashed name so that it can be cached for a year; manifest.json maps the
// logical names that templates use to the hashed ones. The right-to-left stylesheet is generated
// from the left-to-right one with rtlcss, because GOV.UK Frontend has no right-to-left support.
//
// Applicants are on slow phones and metered data, so every byte counts:
// - the stylesheet holds only the GOV.UK Frontend components the portal uses (see portal.scss);
// - portal.js is bundled by esbuild with only the GOV.UK Frontend components it starts, one file
//   instead of two requests in a row, and minified;
// - every file is also written precompressed, `<hashed>.br` (brotli, best) and `<hashed>.gz`
//   (gzip -9), which portal/assets.py serves to browsers that accept them: the best compression
//   costs nothing per request because it is paid once, here. A variant that is not smaller than
//   the file itself (an already compressed image) is not written.
//
//   node static/build.mjs                 the portal's assets, into static/dist
//   node static/build.mjs --stock <dir>   the same pages' assets as stock GOV.UK Frontend ships
//                                         them (the full govuk-frontend.min.css and .min.js),
//                                         precompressed the same way: bench/page_weight.py's
//                                         baseline. <dir> must be new or empty.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, parse, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";
import * as esbuild from "esbuild";
import rtlcss from "rtlcss";
import * as sass from "sass";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const govuk = join(root, "node_modules", "govuk-frontend", "dist", "govuk");
const manifest = {};

// GOV.UK Frontend runs its JavaScript in every browser with `<script type="module">` (Chrome 61,
// Edge 16, Firefox 60, Safari 11) and ships ES2017 syntax for them: the minifier must not write
// newer syntax (`?.`, `??`) than that. (esbuild refuses to name those browsers as its target: it
// cannot lower destructuring, which GOV.UK Frontend's own build already uses.)
const SCRIPT_TARGETS = ["es2017"];
const TEXT_TYPES = new Set([".css", ".js", ".svg"]);

const args = process.argv.slice(2);
const stockAt = args.indexOf("--stock");
const stock = stockAt !== -1;
if (stock && !args[stockAt + 1]) {
  throw new Error("--stock needs the directory to write into");
}
const out = stock ? resolve(args[stockAt + 1]) : join(root, "static", "dist");

function precompress(path, content, ext) {
  const gzip = gzipSync(content, { level: zlib.Z_BEST_COMPRESSION });
  const brotli = brotliCompressSync(content, {
    params: {
      [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY,
      [zlib.BROTLI_PARAM_MODE]: TEXT_TYPES.has(ext) ? zlib.BROTLI_MODE_TEXT : zlib.BROTLI_MODE_GENERIC,
      [zlib.BROTLI_PARAM_SIZE_HINT]: content.length,
    },
  });
  if (gzip.length < content.length) writeFileSync(`${path}.gz`, gzip);
  if (brotli.length < content.length) writeFileSync(`${path}.br`, brotli);
}

function emit(logicalName, content) {
  const bytes = Buffer.from(content);
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 12);
  const { name, ext } = parse(logicalName);
  const hashed = `${name}.${hash}${ext}`;
  writeFileSync(join(out, hashed), bytes);
  precompress(join(out, hashed), bytes, ext);
  manifest[logicalName] = hashed;
  return hashed;
}

// `format: "iife"` for a worker, started as a classic script (older phone browsers cannot start a
// module worker).
async function script(entry, plugins = [], format = "esm") {
  const result = await esbuild.build({
    entryPoints: [join(root, "static", "src", entry)],
    absWorkingDir: root,
    bundle: true,
    format,
    minify: true,
    target: SCRIPT_TARGETS,
    legalComments: "none",
    charset: "utf8",
    write: false,
    logLevel: "warning",
    plugins,
  });
  return result.outputFiles[0].contents;
}

// Stock GOV.UK Frontend: portal.js imports from the whole govuk-frontend.min.js, a second file.
function govukFrontendFrom(hashedName) {
  return {
    name: "stock-govuk-frontend",
    setup(build) {
      build.onResolve({ filter: /^govuk-frontend$/ }, () => ({
        path: `./${hashedName}`,
        external: true,
      }));
    },
  };
}

if (stock) {
  if (existsSync(out) && readdirSync(out).length > 0) {
    throw new Error(`${out} is not empty: give --stock a new or empty directory`);
  }
} else {
  rmSync(out, { recursive: true, force: true });
}
mkdirSync(out, { recursive: true });

const css = stock
  ? readFileSync(join(govuk, "govuk-frontend.min.css"), "utf8")
  : sass.compile(join(root, "static", "src", "portal.scss"), {
      loadPaths: [join(root, "node_modules")],
      style: "compressed",
      quietDeps: true,
    }).css;
emit("portal.css", css);
emit("portal-rtl.css", rtlcss.process(css));

if (stock) {
  const govukJs = emit("govuk-frontend.js", readFileSync(join(govuk, "govuk-frontend.min.js")));
  emit("portal.js", await script("portal.js", [govukFrontendFrom(govukJs)]));
} else {
  emit("portal.js", await script("portal.js"));
}
emit("presence.js", await script("presence.js"));
emit("family-share.js", await script("family-share.js"));
emit("shrink-worker.js", await script("shrink-worker.js", [], "iife"));
emit("favicon.ico", readFileSync(join(govuk, "assets", "images", "favicon.ico")));
emit("favicon.svg", readFileSync(join(govuk, "assets", "images", "favicon.svg")));

writeFileSync(join(out, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`built ${Object.keys(manifest).length} assets into ${stock ? out : "static/dist"}`);
