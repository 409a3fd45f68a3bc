import { describe, expect, it } from 'vitest';
import { actionUrl, endpointProjectId, endpointWithoutRequestPath, serverUrl, versionUrl } from '../../src/cloud/endpoint.ts';

const HW = 'https://ecs.eu-west-101.myhuaweicloud.eu';

describe('endpoint joining', () => {
  it.each([
    // configured endpoint, version document, action URL for (p1, s1, req-1), project the endpoint carries
    [HW, `${HW}/v2.1/`, `${HW}/v2.1/p1/servers/s1/os-instance-actions/req-1`, undefined],
    [`${HW}/`, `${HW}/v2.1/`, `${HW}/v2.1/p1/servers/s1/os-instance-actions/req-1`, undefined],
    [`${HW}//`, `${HW}/v2.1/`, `${HW}/v2.1/p1/servers/s1/os-instance-actions/req-1`, undefined],
    [`${HW}/v2.1`, `${HW}/v2.1/`, `${HW}/v2.1/p1/servers/s1/os-instance-actions/req-1`, undefined],
    [`${HW}/v2.1/`, `${HW}/v2.1/`, `${HW}/v2.1/p1/servers/s1/os-instance-actions/req-1`, undefined],
    [`${HW}/v2.1/abc123`, `${HW}/v2.1/`, `${HW}/v2.1/p1/servers/s1/os-instance-actions/req-1`, 'abc123'],
    [`${HW}/v2.1/abc123/`, `${HW}/v2.1/`, `${HW}/v2.1/p1/servers/s1/os-instance-actions/req-1`, 'abc123'],
    [`${HW}/v2/abc123`, `${HW}/v2.1/`, `${HW}/v2.1/p1/servers/s1/os-instance-actions/req-1`, 'abc123'],
    [' https://h.test/v2.1 ', 'https://h.test/v2.1/', 'https://h.test/v2.1/p1/servers/s1/os-instance-actions/req-1', undefined],
    ['http://10.0.0.5:8774/compute', 'http://10.0.0.5:8774/compute/v2.1/', 'http://10.0.0.5:8774/compute/v2.1/p1/servers/s1/os-instance-actions/req-1', undefined],
    ['http://10.0.0.5/compute/v2.1/', 'http://10.0.0.5/compute/v2.1/', 'http://10.0.0.5/compute/v2.1/p1/servers/s1/os-instance-actions/req-1', undefined],
    ['https://h.test/v2.1/$(tenant_id)s', 'https://h.test/v2.1/', 'https://h.test/v2.1/p1/servers/s1/os-instance-actions/req-1', undefined],
    ['https://h.test/v2.1/%(project_id)s', 'https://h.test/v2.1/', 'https://h.test/v2.1/p1/servers/s1/os-instance-actions/req-1', undefined],
    ['https://h.test/v2.1/{project_id}', 'https://h.test/v2.1/', 'https://h.test/v2.1/p1/servers/s1/os-instance-actions/req-1', undefined],
    ['https://user:secret@h.test/v2.1?x=1#f', 'https://h.test/v2.1/', 'https://h.test/v2.1/p1/servers/s1/os-instance-actions/req-1', undefined],
    // a version segment deeper than one below the end is a path prefix, not the API version
    ['https://h.test/v2/a/b', 'https://h.test/v2/a/b/v2.1/', 'https://h.test/v2/a/b/v2.1/p1/servers/s1/os-instance-actions/req-1', undefined],
  ])('%s', (endpoint, version, action, project) => {
    expect(versionUrl(endpoint)).toBe(version);
    expect(actionUrl(endpoint, 'p1', 's1', 'req-1')).toBe(action);
    expect(serverUrl(endpoint, 'p1', 's1')).toBe(action.replace('/os-instance-actions/req-1', ''));
    expect(endpointProjectId(endpoint)).toBe(project);
  });

  it.each([
    // endpoint, the endpoint to write for one that goes on into a request's path
    [`${HW}/v2.1/p1/servers`, `${HW}/v2.1/p1`],
    [`${HW}/v2.1/p1/servers/detail`, `${HW}/v2.1/p1`],
    [`${HW}/v2.1/servers/s1/os-instance-actions`, `${HW}/v2.1`],
    [`${HW}/v1/p1/cloudservers`, `${HW}/v1/p1`],
    [`${HW}/v1/p1/jobs/j1`, `${HW}/v1/p1`],
    ['http://10.0.0.5/compute/v2.1/p1/os-migrations', 'http://10.0.0.5/compute/v2.1/p1'],
    // a path prefix after a version segment, and the endpoint's own forms, are no request's path
    ['https://h.test/v2/a/b', undefined],
    [`${HW}/v2.1/p1`, undefined],
    [HW, undefined],
  ])('%s is written %s', (endpoint, fixed) => {
    expect(endpointWithoutRequestPath(endpoint)).toBe(fixed);
  });

  it('encodes path segments', () => {
    expect(actionUrl(HW, 'p/1', 'a b', 'req?1#x')).toBe(`${HW}/v2.1/p%2F1/servers/a%20b/os-instance-actions/req%3F1%23x`);
  });

  it.each(['', 'ecs.example.com', 'ftp://h.test/v2.1'])('refuses %j', (endpoint) => {
    expect(() => versionUrl(endpoint)).toThrow(TypeError);
  });
});
