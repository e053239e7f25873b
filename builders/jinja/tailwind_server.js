// sitegate's Tailwind compiler for one site in development, kept alive between builds.
//
// `node tailwind_server.js <the site's node_modules/tailwindcss>`. It reads one JSON request a
// line on stdin and answers each with one JSON line on stdout:
//   {"input": css file or null, "config": config file or null, "output": file to write,
//    "minify": bool, "files": [[key, path], ...], "removed": [key, ...]}
//   → {"ok": true, "compiled": bool, "fresh": bool, "ms": n} or {"ok": false, "error": text}
// It does what the CLI (`tailwindcss --watch`) does between rebuilds: one Tailwind context,
// fed only the content that changed; every class it ever saw stays in it, as in the CLI's watch
// mode. The content of every key is kept, so a new context (the config or the stylesheet's
// `@layer` rules changed) is fed all of it again. When the stylesheet is as it was and the
// changed content brings no new rule (Tailwind's own extractor and generateRules decide), the
// CSS is the last one, written again without the rest of a compile.
// It ends when stdin closes: its gateway is gone.
"use strict";
const fs = require("fs");
const path = require("path");
const readline = require("readline");

const tailwind = process.argv[2];
const load = (relative) => require(path.join(tailwind, relative));
const deps = load("lib/cli/build/deps.js");
const { formatNodes } = load("lib/cli/build/utils.js");
const processTailwindFeatures = load("lib/processTailwindFeatures.js").default;
const resolveConfig = load("resolveConfig.js");
const { loadConfig } = load("lib/lib/load-config.js");
const getModuleDependencies = load("lib/lib/getModuleDependencies.js").default;
const { defaultExtractor } = load("lib/lib/defaultExtractor.js");
const { generateRules } = load("lib/lib/generateRules.js");

const postcss = deps.loadPostcss();
const DEFAULT_CSS = "@tailwind base; @tailwind components; @tailwind utilities";
const IMPORT_COMMENT = "__TAILWIND_RESTORE_IMPORT__: ";

// key → {content, extension}: everything the site's CSS is made from.
const contents = new Map();
let context = null;
let configStamp = null;
let layerSignature = null;
let sourceStamp = null;
let configFiles = [];
let cssFiles = [];
let lastCss = null;

function mtimes(files) {
  return files.map((file) => {
    try {
      const info = fs.statSync(file);
      return [file, info.mtimeMs, info.size];
    } catch {
      return [file, null];
    }
  });
}

// What a context is made of besides the config: the stylesheet's `@layer` rules become plugins
// of it (setupContextUtils.js, collectLayerPlugins). A stylesheet edit elsewhere keeps it, as a
// content edit does in Tailwind's watch mode; `@config` and the old `@responsive`/`@variants`
// always make a new one.
function layersOf(root) {
  const layers = [];
  root.walkAtRules((rule) => {
    if (["config", "responsive", "variants"].includes(rule.name)) layers.push(null);
    else if (rule.name === "layer") layers.push(String(rule));
  });
  return layers.includes(null) ? null : JSON.stringify(layers);
}

// The CLI's own plugins around Tailwind (lib/cli/build/plugin.js): `@import`s inlined except
// Tailwind's own, the output formatted, autoprefixed and, for production, minified.
function processor(minify, setupContext) {
  const plugins = [
    (root) => {
      root.walkAtRules("import", (rule) => {
        if (rule.params.slice(1).startsWith("tailwindcss/")) {
          rule.after(postcss.comment({ text: IMPORT_COMMENT + rule.params }));
          rule.remove();
        }
      });
    },
    deps.loadPostcssImport(),
    (root) => {
      root.walkComments((rule) => {
        if (rule.text.startsWith(IMPORT_COMMENT)) {
          rule.after(postcss.atRule({ name: "import", params: rule.text.replace(IMPORT_COMMENT, "") }));
          rule.remove();
        }
      });
    },
    {
      postcssPlugin: "tailwindcss",
      async Once(root, { result }) {
        const layers = layersOf(root);
        await processTailwindFeatures(({ createContext }) => () => setupContext(createContext, layers))(root, result);
      },
    },
    !minify && formatNodes,
    deps.loadAutoprefixer(),
    minify && deps.loadCssNano(),
  ].filter(Boolean);
  return postcss(plugins);
}

function loadSiteConfig(configPath) {
  for (const file of configFiles) delete require.cache[file];
  const config = configPath ? loadConfig(configPath) : {};
  configFiles = configPath ? [...getModuleDependencies(configPath)] : [];
  const resolved = resolveConfig(config, { content: { files: [] } });
  // The content is what sitegate hands over, never the config's own globs.
  resolved.content.files = [];
  return resolved;
}

const extractors = new WeakMap();
function defaultExtractorOf(owner) {
  if (!extractors.has(owner)) extractors.set(owner, defaultExtractor(owner));
  return extractors.get(owner);
}

// Tailwind's own choice of transformer and extractor for a file (expandTailwindAtRules.js).
function candidatesOf(item) {
  const extract = context.tailwindConfig.content.extract;
  const transform = context.tailwindConfig.content.transform;
  const extractor = extract[item.extension] || extract.DEFAULT || defaultExtractorOf(context);
  const transformer =
    transform[item.extension] ||
    transform.DEFAULT ||
    (item.extension === "svelte" ? (text) => text.replace(/(?:^|\s)class:/g, " ") : (text) => text);
  const found = new Set();
  for (const line of transformer(item.content).split("\n")) {
    for (const candidate of extractor(line.trim())) found.add(candidate);
  }
  return found;
}

// Whether `changed` can leave the CSS as it was: every class candidate in it (Tailwind's own
// extractor finds them) is one the context has generated or ruled out already, or, judged now
// as a build would judge it (generateRules), brings no rule.
function nothingNew(changed) {
  const unjudged = new Set();
  for (const item of changed) {
    for (const candidate of candidatesOf(item)) {
      if (candidate !== "!*" && !context.classCache.has(candidate) && !context.notClassCache.has(candidate)) {
        unjudged.add(candidate);
      }
    }
  }
  if (unjudged.size === 0) return true;
  const classes = context.classCache.size;
  generateRules(new Set([...unjudged].sort()), context);
  if (context.classCache.size === classes) return true;
  // New rules: the stylesheet is rebuilt from them (expandTailwindAtRules only rebuilds it
  // when the classes grow during its own run).
  context.stylesheetCache = null;
  return false;
}

async function compile(request) {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e6;
  for (const key of request.removed || []) contents.delete(key);
  const changed = [];
  for (const [key, file] of request.files || []) {
    const item = { content: fs.readFileSync(file, "utf8"), extension: path.extname(file).slice(1) };
    contents.set(key, item);
    changed.push(item);
  }
  const css = request.input ? fs.readFileSync(request.input, "utf8") : DEFAULT_CSS;
  const configNow = JSON.stringify([request.config, request.minify, mtimes(configFiles)]);
  const sourceNow = JSON.stringify([css, mtimes(cssFiles)]);
  const sameConfig = context !== null && configNow === configStamp;
  if (sameConfig && sourceNow === sourceStamp && nothingNew(changed)) {
    fs.writeFileSync(request.output, lastCss);
    return { ok: true, compiled: false, fresh: false, ms: elapsed() };
  }
  let fresh = false;
  const setupContext = (createContext, layers) => {
    if (!sameConfig || layers === null || layers !== layerSignature) {
      context = null;
      const config = loadSiteConfig(request.config);
      context = createContext(config, []);
      context.changedContent = [...contents.values()];
      layerSignature = layers;
      fresh = true;
    } else {
      context.changedContent = changed;
    }
    return context;
  };
  const result = await processor(request.minify, setupContext).process(css, {
    from: request.input || undefined,
    to: request.output,
  });
  // The files `@import`ed: the input itself is compared as text.
  cssFiles = result.messages.filter((message) => message.type === "dependency").map((message) => message.file);
  configStamp = JSON.stringify([request.config, request.minify, mtimes(configFiles)]);
  sourceStamp = JSON.stringify([css, mtimes(cssFiles)]);
  lastCss = result.css;
  fs.writeFileSync(request.output, lastCss);
  return { ok: true, compiled: true, fresh, ms: elapsed() };
}

let queue = Promise.resolve();
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  queue = queue.then(async () => {
    let answer;
    try {
      answer = await compile(JSON.parse(line));
    } catch (error) {
      // The next request starts from a new context: this one may be half updated.
      context = null;
      answer = { ok: false, error: String((error && error.stack) || error) };
    }
    process.stdout.write(JSON.stringify(answer) + "\n");
  });
}).on("close", () => queue.then(() => process.exit(0)));
process.stdout.write(JSON.stringify({ ok: true, ready: true }) + "\n");
