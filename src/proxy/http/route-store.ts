import type { RouteConfiguration } from '../../envoy/index.js';

/** Route configurations delivered by RDS, by name; connection managers follow the one they name. */
export class RouteStore {
  private readonly routes = new Map<string, RouteConfiguration>();
  private readonly watchers = new Map<string, Set<(config: RouteConfiguration) => void>>();

  get(name: string): RouteConfiguration | undefined {
    return this.routes.get(name);
  }

  names(): string[] {
    return [...this.routes.keys()];
  }

  all(): RouteConfiguration[] {
    return [...this.routes.values()];
  }

  set(configs: readonly RouteConfiguration[]): void {
    for (const config of configs) {
      const name = config.name ?? '';
      this.routes.set(name, config);
      for (const watcher of this.watchers.get(name) ?? []) watcher(config);
    }
  }

  delete(names: readonly string[]): void {
    for (const n of names) this.routes.delete(n);
  }

  /** Calls back now (if known) and on every update of that route configuration. */
  watch(name: string, watcher: (config: RouteConfiguration) => void): () => void {
    let set = this.watchers.get(name);
    if (!set) this.watchers.set(name, (set = new Set()));
    set.add(watcher);
    const current = this.routes.get(name);
    if (current) watcher(current);
    return () => set.delete(watcher);
  }
}
