// Builds static/dist from GOV.UK Frontend and the portal's own sources.
// Every file gets a content-hashed name so that it can be cached for a year; manifest.json maps the
// logical names that templates use to the hashed ones. The right-to-left stylesheet is generated
// from the left-to-right one with rtlcss, because GOV.UK Frontend has no right-to-left support.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, parse } from "node:path";
import { fileURLToPath } from "node:url";
import rtlcss from "rtlcss";
import * as sass from "sass";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const govuk = join(root, "node_modules", "govuk-frontend", "dist", "govuk");
const out = join(root, "static", "dist");
const manifest = {};

function emit(logicalName, content) {
  const hash = createHash("sha256").update(content).digest("hex").slice(0, 12);
  const { name, ext } = parse(logicalName);
  const hashed = `${name}.${hash}${ext}`;
  writeFileSync(join(out, hashed), content);
  manifest[logicalName] = hashed;
  return hashed;
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const css = sass.compile(join(root, "static", "src", "portal.scss"), {
  loadPaths: [join(root, "node_modules")],
  style: "compressed",
  quietDeps: true,
}).css;
emit("portal.css", css);
emit("portal-rtl.css", rtlcss.process(css));

const govukJs = emit("govuk-frontend.js", readFileSync(join(govuk, "govuk-frontend.min.js")));
const portalJs = readFileSync(join(root, "static", "src", "portal.js"), "utf8").replace(
  "__GOVUK_FRONTEND__",
  `./${govukJs}`,
);
emit("portal.js", portalJs);
emit("presence.js", readFileSync(join(root, "static", "src", "presence.js")));
emit("favicon.ico", readFileSync(join(govuk, "assets", "images", "favicon.ico")));
emit("favicon.svg", readFileSync(join(govuk, "assets", "images", "favicon.svg")));

writeFileSync(join(out, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`built ${Object.keys(manifest).length} assets into static/dist`);
