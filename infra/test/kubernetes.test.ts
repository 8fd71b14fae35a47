import fs from 'node:fs';
import path from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { jobConsumerName, jobsStreamName } from '@lumen/bus';
import { envSchema, jobSubjects, parseConfig } from '@lumen/core';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, PersistentVolumeClaim, Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

/**
 * Every manifest in infra/k8s, validated with the kubernetes-models packages (the Kubernetes and
 * KEDA schemas ship inside them: nothing is downloaded), with each kustomize overlay's patches
 * applied; then checked against the code: the commands run files that exist, the settings are ones
 * Lumen knows and parses, the KEDA trigger watches the stream and consumers packages/bus really
 * creates, and the references between the objects resolve.
 */

const repoRoot = path.resolve(import.meta.dirname, '../..');
const k8sDir = path.join(repoRoot, 'infra/k8s');

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [key: string]: unknown };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are checked by the models, then read loosely
  spec?: any;
  data?: Record<string, string>;
}

interface Kustomization {
  resources?: string[];
  patches?: { target: { kind: string; name: string }; patch: string }[];
  secretGenerator?: { name: string; envs: string[] }[];
  images?: { name: string }[];
  namespace?: string;
}

/** The model class of each apiVersion/kind the manifests may use. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

function validateManifest(manifest: Manifest): void {
  const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  if (!Model)
    throw new Error(`no model for ${manifest.apiVersion} ${manifest.kind} (${manifest.metadata?.name})`);
  new Model(manifest as never).validate();
}

function readKustomization(dir: string): Kustomization {
  return parse(fs.readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
}

/** The objects a kustomization directory produces: its resources (recursively), then its patches. */
function build(dir: string): Manifest[] {
  const kustomization = readKustomization(dir);
  const manifests: Manifest[] = [];
  for (const resource of kustomization.resources ?? []) {
    const target = path.resolve(dir, resource);
    if (fs.statSync(target).isDirectory()) {
      manifests.push(...build(target));
      continue;
    }
    for (const doc of parseAllDocuments(fs.readFileSync(target, 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${resource}: ${doc.errors[0]?.message}`);
      manifests.push(doc.toJS() as Manifest);
    }
  }
  for (const { target, patch } of kustomization.patches ?? []) {
    const index = manifests.findIndex((m) => m.kind === target.kind && m.metadata.name === target.name);
    if (index < 0) throw new Error(`patch target ${target.kind}/${target.name} does not exist`);
    const operations = parse(patch) as Operation[];
    manifests[index] = fastJsonPatch.applyPatch(manifests[index]!, operations, true, false).newDocument;
  }
  return manifests;
}

const BASE = path.join(k8sDir, 'base');
const LAYOUTS = {
  base: BASE,
  ...Object.fromEntries(
    fs
      .readdirSync(path.join(k8sDir, 'overlays'))
      .map((name) => [`overlays/${name}`, path.join(k8sDir, 'overlays', name)]),
  ),
};

const find = (manifests: Manifest[], kind: string, name: string): Manifest => {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} is missing`);
  return found;
};

const workloads = (manifests: Manifest[]) =>
  manifests.filter((m) => m.kind === 'Deployment' || m.kind === 'StatefulSet');

// biome-ignore lint/suspicious/noExplicitAny: container specs as parsed from YAML
type Container = any;
const containersOf = (workload: Manifest): Container[] => workload.spec.template.spec.containers;
const isLumen = (container: Container) => container.image === 'lumen';

/** The secrets a user puts in secrets.env: the keys of secrets.env.example, with test values. */
const secretKeys = (): Record<string, string> => {
  const keys = fs
    .readFileSync(path.join(BASE, 'secrets.env.example'), 'utf8')
    .split('\n')
    .filter((line) => /^[A-Z_]+=/.test(line))
    .map((line) => line.slice(0, line.indexOf('=')));
  const values: Record<string, string> = {
    SECRET_KEY: 'k'.repeat(64),
    POSTGRES_PASSWORD: 'pw123',
    DATABASE_URL: 'postgres://lumen:pw123@postgres:5432/lumen',
  };
  return Object.fromEntries(keys.map((key) => [key, values[key] ?? 'x']));
};

/** The environment a Lumen container gets: its ConfigMaps, then its own env (secrets resolved). */
function environmentOf(manifests: Manifest[], container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? [])
    Object.assign(env, find(manifests, 'ConfigMap', from.configMapRef.name).data);
  const secrets = secretKeys();
  for (const variable of container.env ?? []) {
    env[variable.name] = variable.value ?? secrets[variable.valueFrom?.secretKeyRef?.key] ?? '';
  }
  return env;
}

describe.each(Object.entries(LAYOUTS))('infra/k8s/%s', (_layout, dir) => {
  const manifests = build(dir);

  it('every object is valid for its Kubernetes or KEDA model', () => {
    expect(manifests.length).toBeGreaterThan(10);
    for (const manifest of manifests) {
      expect(() => validateManifest(manifest), `${manifest.kind}/${manifest.metadata?.name}`).not.toThrow();
    }
  });

  it('the validation catches a broken object', () => {
    const broken = structuredClone(find(manifests, 'Deployment', 'lumen-api'));
    broken.spec.replicas = 'two';
    expect(() => validateManifest(broken)).toThrow(/replicas/);
    const noTrigger = structuredClone(find(manifests, 'ScaledObject', 'lumen-transcoder'));
    delete noTrigger.spec.triggers[0].type;
    expect(() => validateManifest(noTrigger)).toThrow(/type/);
  });

  it('every container has requests, limits, a readiness and a liveness probe on a port it has', () => {
    for (const workload of workloads(manifests)) {
      for (const container of containersOf(workload)) {
        const where = `${workload.metadata.name}/${container.name}`;
        for (const kind of ['requests', 'limits']) {
          expect(Object.keys(container.resources?.[kind] ?? {}).sort(), `${where} ${kind}`).toEqual([
            'cpu',
            'memory',
          ]);
        }
        expect(container.readinessProbe, where).toBeDefined();
        expect(container.livenessProbe, where).toBeDefined();
        const ports = new Set((container.ports ?? []).map((p: { name: string }) => p.name));
        for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
          const port = probe?.httpGet?.port ?? probe?.tcpSocket?.port;
          if (typeof port === 'string') expect(ports.has(port), `${where} probe port ${port}`).toBe(true);
        }
      }
    }
  });

  it('selectors, services, claims, config maps and secrets all resolve', () => {
    const kustomization = readKustomization(BASE);
    const secretNames = new Set(kustomization.secretGenerator?.map((s) => s.name));
    const secrets = secretKeys();
    for (const workload of workloads(manifests)) {
      const labels = workload.spec.template.metadata.labels;
      expect(labels, workload.metadata.name).toMatchObject(workload.spec.selector.matchLabels);
      const podSpec = workload.spec.template.spec;
      const claims = new Set(
        (workload.spec.volumeClaimTemplates ?? []).map((t: Manifest) => t.metadata.name),
      );
      const volumes = new Set<string>(claims as Set<string>);
      for (const volume of podSpec.volumes ?? []) {
        volumes.add(volume.name);
        if (volume.persistentVolumeClaim)
          find(manifests, 'PersistentVolumeClaim', volume.persistentVolumeClaim.claimName);
      }
      for (const container of containersOf(workload)) {
        for (const mount of container.volumeMounts ?? [])
          expect(volumes.has(mount.name), mount.name).toBe(true);
        for (const from of container.envFrom ?? []) find(manifests, 'ConfigMap', from.configMapRef.name);
        for (const variable of container.env ?? []) {
          const ref = variable.valueFrom?.secretKeyRef;
          if (!ref) continue;
          expect(secretNames.has(ref.name), ref.name).toBe(true);
          expect(secrets, `secrets.env.example lacks ${ref.key}`).toHaveProperty(ref.key);
        }
      }
    }
    for (const service of manifests.filter((m) => m.kind === 'Service')) {
      const target = workloads(manifests).find((w) =>
        Object.entries(service.spec.selector).every(([k, v]) => w.spec.template.metadata.labels[k] === v),
      );
      expect(target, `Service ${service.metadata.name} selects nothing`).toBeDefined();
      const ports = new Set(
        containersOf(target!).flatMap((c) => (c.ports ?? []).map((p: { name: string }) => p.name)),
      );
      for (const port of service.spec.ports)
        expect(ports.has(port.targetPort), `${service.metadata.name}:${port.targetPort}`).toBe(true);
    }
    for (const scaler of manifests.filter(
      (m) => m.kind === 'HorizontalPodAutoscaler' || m.kind === 'ScaledObject',
    )) {
      find(manifests, 'Deployment', scaler.spec.scaleTargetRef.name);
    }
  });

  it('runs the one image with a command that exists and settings Lumen knows and parses', () => {
    const known = new Set(Object.keys(envSchema.shape));
    const lumen = workloads(manifests).flatMap((w) =>
      containersOf(w)
        .filter(isLumen)
        .map((c) => [w, c] as const),
    );
    expect(lumen.map(([w]) => w.metadata.name).sort()).toEqual([
      'lumen-api',
      'lumen-transcoder',
      'lumen-watcher',
    ]);
    for (const [workload, container] of lumen) {
      const name = workload.metadata.name.replace('lumen-', '');
      expect(container.args).toEqual([`apps/${name}/src/main.ts`]);
      expect(fs.existsSync(path.join(repoRoot, container.args[0])), container.args[0]).toBe(true);
      const env = environmentOf(manifests, container);
      expect(
        Object.keys(env).filter((key) => !known.has(key)),
        name,
      ).toEqual([]);
      const config = parseConfig(env, '/app');
      expect(config.natsUrl).toBe('nats://nats:4222');
      expect(config.dataDir).toBe('/data');
      expect(
        config.libraries.every((l) => l.root.startsWith('/libraries/')),
        name,
      ).toBe(true);
      if (name !== 'transcoder') expect(config.database.kind, name).toBe('postgres');
      if (name === 'api') expect(config.secretKey).toBeDefined();
      // The health checks of the services without an HTTP port run the image's script.
      if (name !== 'api')
        expect(container.livenessProbe.exec.command).toEqual(['node', '/app/infra/healthcheck.mjs', name]);
    }
  });

  it('mounts the libraries read-only and the derived files read-write everywhere', () => {
    for (const workload of workloads(manifests).filter((w) => containersOf(w).some(isLumen))) {
      const mounts = containersOf(workload).flatMap((c) => c.volumeMounts);
      expect(mounts.find((m: { name: string }) => m.name === 'libraries')).toMatchObject({
        mountPath: '/libraries',
        readOnly: true,
      });
      expect(mounts.find((m: { name: string }) => m.name === 'derived')).toMatchObject({
        mountPath: '/data',
      });
      expect(mounts.find((m: { name: string }) => m.name === 'derived').readOnly).toBeUndefined();
    }
  });

  it("scales the transcoders on the lag of the consumers packages/bus creates for the config's BUS_PREFIX", () => {
    const prefix = find(manifests, 'ConfigMap', 'lumen-config').data?.BUS_PREFIX ?? 'lumen';
    const triggers = find(manifests, 'ScaledObject', 'lumen-transcoder').spec.triggers;
    expect(triggers.map((t: { type: string }) => t.type)).toEqual(['nats-jetstream', 'nats-jetstream']);
    for (const trigger of triggers) expect(trigger.metadata.stream).toBe(jobsStreamName(prefix));
    // The transcoding work: `video.ingested` jobs only enqueue these (quick), and `media.uploaded`
    // is the watchers' queue.
    expect(triggers.map((t: { metadata: { consumer: string } }) => t.metadata.consumer).sort()).toEqual(
      [jobSubjects.videoHls, jobSubjects.videoPreview]
        .map((subject) => jobConsumerName(prefix, subject))
        .sort(),
    );
    const namespace = readKustomization(BASE).namespace;
    for (const trigger of triggers) {
      expect(trigger.metadata.natsServerMonitoringEndpoint).toBe(`nats.${namespace}.svc.cluster.local:8222`);
    }
  });

  it('keeps JetStream on a volume of its own', () => {
    const nats = find(manifests, 'StatefulSet', 'nats');
    const container = containersOf(nats)[0];
    expect(container.args).toEqual(expect.arrayContaining(['--jetstream', '--store_dir', '/data']));
    expect(container.volumeMounts).toContainEqual({ name: 'jetstream', mountPath: '/data' });
    expect(nats.spec.volumeClaimTemplates[0].metadata.name).toBe('jetstream');
  });
});

describe('infra/k8s/base (the multi-node layout)', () => {
  const manifests = build(BASE);

  it('runs 2 apis (autoscaled), 2 or more transcoders (KEDA), 2 watchers (one active by the lease)', () => {
    expect(find(manifests, 'Deployment', 'lumen-api').spec.replicas).toBe(2);
    expect(find(manifests, 'HorizontalPodAutoscaler', 'lumen-api').spec.minReplicas).toBe(2);
    expect(find(manifests, 'Deployment', 'lumen-transcoder').spec.replicas).toBeGreaterThanOrEqual(2);
    expect(find(manifests, 'ScaledObject', 'lumen-transcoder').spec.minReplicaCount).toBeGreaterThanOrEqual(
      2,
    );
    // One holds the lease and works, the other stands by (docs/operations.md).
    const watcher = find(manifests, 'Deployment', 'lumen-watcher');
    expect(watcher.spec.replicas).toBe(2);
    expect(watcher.spec.strategy).toEqual({ type: 'RollingUpdate' });
  });

  it('claims the libraries ReadOnlyMany and the derived files ReadWriteMany', () => {
    expect(find(manifests, 'PersistentVolumeClaim', 'lumen-libraries').spec.accessModes).toEqual([
      'ReadOnlyMany',
    ]);
    expect(find(manifests, 'PersistentVolumeClaim', 'lumen-derived').spec.accessModes).toEqual([
      'ReadWriteMany',
    ]);
  });

  it('runs PostgreSQL as a StatefulSet on a volume', () => {
    const postgres = find(manifests, 'StatefulSet', 'postgres');
    expect(postgres.spec.volumeClaimTemplates[0].spec.accessModes).toEqual(['ReadWriteOnce']);
  });
});
