// Lint rules, including the layering of DESIGN.md:
//   cli -> controlplane | proxy -> envoy, pki, api -> common
//   cli -> install -> api, common (install spawns isthmus processes; it never imports them)
// and "other modules import a module only through its index.ts".
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layers = ['common', 'api', 'envoy', 'pki', 'controlplane', 'proxy', 'install', 'cli'];

// What each layer must not import.
const forbidden = {
  common: ['api', 'envoy', 'pki', 'controlplane', 'proxy', 'install', 'cli'],
  api: ['envoy', 'pki', 'controlplane', 'proxy', 'install', 'cli'],
  envoy: ['api', 'pki', 'controlplane', 'proxy', 'install', 'cli'],
  pki: ['api', 'envoy', 'controlplane', 'proxy', 'install', 'cli'],
  controlplane: ['proxy', 'install', 'cli'],
  proxy: ['controlplane', 'install', 'cli'],
  install: ['envoy', 'pki', 'controlplane', 'proxy', 'cli'],
  cli: [],
};

function boundaryRule(layer) {
  const patterns = [
    // A layer is entered through its index.ts only.
    ...layers
      .filter((other) => other !== layer)
      .map((other) => ({
        regex: `(^|/)${other}/(?!index\\.js$).+`,
        message: `import '${other}' through its index.js, not a file inside it`,
      })),
    ...forbidden[layer].map((other) => ({
      regex: `(^|/)${other}(/|$)`,
      message: `'${layer}' must not import '${other}' (layers: cli -> controlplane | proxy -> envoy, pki, api -> common)`,
    })),
  ];
  return {
    files: [`src/${layer}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  ...layers.map(boundaryRule),
);
