// `listeners` / `advertised.listeners`: a comma-separated list of NAME://host:port, as in Kafka.
// An empty host binds every interface; an IPv6 host is written in brackets: PLAINTEXT://[::1]:9092.
// The security protocol of a listener comes from listener.security.protocol.map (name → protocol); Brook serves
// PLAINTEXT only, and listeners named in controller.listener.names are left to a KRaft controller Brook does not
// run (its metadata is embedded), so a stock KRaft server.properties still loads.
import { hostname } from 'node:os';
import { ConfigError } from './config-error.js';

export interface Listener {
  /** Listener name, e.g. PLAINTEXT. */
  name: string;
  /** '' = every interface. */
  host: string;
  port: number;
}

const LISTENER = /^([A-Za-z0-9_]+):\/\/(\[[0-9A-Fa-f:.]*\]|[^:/[\]\s]*):(\d{1,5})$/;

export function parseListeners(key: string, text: string): Listener[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const listeners = items.map((item) => {
    const m = LISTENER.exec(item);
    const port = m ? Number(m[3]) : -1;
    if (!m || port > 65535) {
      throw new ConfigError(
        `Invalid value ${JSON.stringify(item)} for configuration ${key}: listeners must look like PLAINTEXT://host:port with a port from 0 to 65535.`,
        key,
        text,
      );
    }
    const host = m[2]!.startsWith('[') ? m[2]!.slice(1, -1) : m[2]!;
    return { name: m[1]!.toUpperCase(), host, port };
  });
  const names = new Set<string>();
  for (const l of listeners) {
    if (names.has(l.name)) {
      throw new ConfigError(
        `Invalid value ${JSON.stringify(text)} for configuration ${key}: listener name ${l.name} appears more than once.`,
        key,
        text,
      );
    }
    names.add(l.name);
  }
  return listeners;
}

/** listener.security.protocol.map: NAME:PROTOCOL,... */
export function parseProtocolMap(key: string, text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const item of text.split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const m = /^([A-Za-z0-9_]+):([A-Za-z_]+)$/.exec(item);
    if (!m) {
      throw new ConfigError(
        `Invalid value ${JSON.stringify(text)} for configuration ${key}: entries must look like NAME:PROTOCOL, e.g. PLAINTEXT:PLAINTEXT.`,
        key,
        text,
      );
    }
    map.set(m[1]!.toUpperCase(), m[2]!.toUpperCase());
  }
  return map;
}

/**
 * The broker-facing listeners: drops controller listeners and checks that every remaining one speaks PLAINTEXT.
 */
export function brokerListeners(
  key: string,
  listeners: Listener[],
  protocolMap: Map<string, string>,
  controllerNames: readonly string[],
): Listener[] {
  const controllers = new Set(controllerNames.map((n) => n.toUpperCase()));
  const out = listeners.filter((l) => !controllers.has(l.name));
  for (const l of out) {
    const protocol = protocolMap.get(l.name);
    if (protocol !== 'PLAINTEXT') {
      throw new ConfigError(
        protocol === undefined
          ? `Invalid value for configuration ${key}: listener ${l.name} has no entry in listener.security.protocol.map.`
          : `Invalid value for configuration ${key}: listener ${l.name} uses ${protocol}, but Brook supports only PLAINTEXT.`,
        key,
      );
    }
  }
  return out;
}

/**
 * advertised.listeners defaults to listeners; as in Kafka, an empty host is advertised as this machine's
 * hostname, and the non-routable 0.0.0.0 / :: may not be advertised.
 */
export function advertisedListeners(
  key: string,
  advertised: Listener[] | null,
  listeners: Listener[],
): Listener[] {
  if (advertised === null) {
    return listeners.map((l) => ({ ...l, host: l.host === '' || isWildcard(l.host) ? hostname() : l.host }));
  }
  for (const l of advertised) {
    if (isWildcard(l.host)) {
      throw new ConfigError(
        `Invalid value for configuration ${key}: ${l.name} advertises the non-routable address ${l.host}; use a host name or IP clients can reach.`,
        key,
      );
    }
  }
  return advertised.map((l) => ({ ...l, host: l.host === '' ? hostname() : l.host }));
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

export function formatListener(l: Listener): string {
  return `${l.name}://${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`;
}
