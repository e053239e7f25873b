// sitegate's Tailwind compiler for one site in development, kept alive between builds.
//
// `node tailwind_server.js <the site's node_modules/tailwindcss>`. It reads one JSON request a
// line on stdin and answers each with one JSON line on stdout:
//   {"input": css file or null, "config": config file or null, "output": file to write,
//    "minify": bool, "files": [[key, path], ...], "removed": [key, ...]}
//   → {"ok": true, "compiled": bool, "fresh": bool, "patched": bool, "ms": n}
//     or {"ok": false, "error": text}
// It does what the CLI (`tailwindcss --watch`) does between rebuilds: one Tailwind context,
// fed only the content that changed; every class it ever saw stays in it, as in the CLI's watch
// mode. The content of every key is kept, so a new context (the config changed, or the
// stylesheet's `@layer` rules did beyond what patchLayers can swap in) is fed all of it again. When the stylesheet is as it was and the
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
// The nodes of the stylesheet's `@layer` rules the context holds as plugins, in order.
let layerNodes = [];
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

// The top-level nodes of the `@layer base|components|utilities` rules, as collectLayerPlugins
// (setupContextUtils.js) makes each a plugin of the context.
function layerChildren(root) {
  const nodes = [];
  root.walkAtRules("layer", (rule) => {
    if (["base", "components", "utilities"].includes(rule.params)) {
      for (const node of rule.nodes) nodes.push({ layer: rule.params, node });
    }
  });
  return nodes;
}

// What decides the classes a layer node stands for (its identifiers): its selectors.
function shapeOf(node) {
  const shape = [node.type, node.type === "atrule" ? `${node.name} ${node.params}` : node.selector];
  if (node.walkRules) node.walkRules((rule) => shape.push(rule.selector));
  return JSON.stringify(shape);
}

// A stylesheet edit that changed only the insides of `@layer` rules (every node keeps its place
// and selectors: an `@apply` list, a declaration) swaps the edited nodes in the context's plugin
// table in place of a new context, which costs ten times more. Everything generated from the
// table is made again; which candidates are classes at all cannot have changed.
function patchLayers(root) {
  const now = layerChildren(root);
  if (now.length !== layerNodes.length) return false;
  for (let i = 0; i < now.length; i++) {
    if (now[i].layer !== layerNodes[i].layer || shapeOf(now[i].node) !== shapeOf(layerNodes[i].node)) return false;
  }
  const swapped = new Map();
  for (let i = 0; i < now.length; i++) {
    if (String(now[i].node) !== String(layerNodes[i].node)) {
      swapped.set(layerNodes[i].node, now[i].node);
      layerNodes[i] = now[i];
    }
  }
  for (const entries of context.candidateRuleMap.values()) {
    for (const entry of entries) {
      if (Array.isArray(entry) && swapped.has(entry[1])) entry[1] = swapped.get(entry[1]);
    }
  }
  // As collectLayerPlugins leaves the root: without its `@layer` rules.
  root.walkAtRules("layer", (rule) => {
    if (["base", "components", "utilities"].includes(rule.params)) rule.remove();
  });
  context.classCache.clear();
  context.candidateRuleCache.clear();
  context.ruleCache.clear();
  context.applyClassCache.clear();
  context.postCssNodeCache.clear();
  context.stylesheetCache = null;
  context.changedContent = [...contents.values()];
  return true;
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
        await processTailwindFeatures(({ createContext }) => (tree) => setupContext(createContext, layers, tree))(
          root,
          result,
        );
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
  let patched = false;
  const setupContext = (createContext, layers, root) => {
    if (sameConfig && layers !== null && layers === layerSignature) {
      context.changedContent = changed;
    } else if (sameConfig && layers !== null && layerSignature !== null && patchLayers(root)) {
      layerSignature = layers;
      patched = true;
    } else {
      context = null;
      const config = loadSiteConfig(request.config);
      layerNodes = layerChildren(root);
      context = createContext(config, []);
      context.changedContent = [...contents.values()];
      layerSignature = layers;
      fresh = true;
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
  return { ok: true, compiled: true, fresh, patched, ms: elapsed() };
}

let queue = Promise.resolve();
readline
  .createInterface({ input: process.stdin })
  .on("line", (line) => {
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
  })
  .on("close", () => queue.then(() => process.exit(0)));
process.stdout.write(JSON.stringify({ ok: true, ready: true }) + "\n");
