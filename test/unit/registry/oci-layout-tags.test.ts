// How an OCI layout's ref.name annotations become tags (src/registry/oci-layout.ts):
// cosign's digest-bound tags are found whatever the repository; an image's own tag only
// in its repository (or as a bare tag), so `web:v1` never resolves to another image's v1.

import { describe, expect, it } from 'vitest';
import { tagKey, tagKeysOfRefName } from '../../../src/registry/oci-layout.ts';

const SIG = `sha256-${'a'.repeat(64)}.sig`;

describe('OCI layout tags', () => {
  it('keys a full reference by repository and tag, the host dropped', () => {
    expect(tagKeysOfRefName('registry.example.com:5000/shop/web:v1')).toEqual(['shop/web:v1']);
    expect(tagKeysOfRefName('localhost/shop/web:v1')).toEqual(['shop/web:v1']);
    expect(tagKeysOfRefName('shop/web:v1')).toEqual(['shop/web:v1']);
    expect(tagKey('shop/web', 'v1')).toBe('shop/web:v1');
  });

  it('keys digest-bound cosign tags bare too, so any repository finds them', () => {
    expect(tagKeysOfRefName(`127.0.0.1:5000/app:${SIG}`)).toEqual([SIG, `app:${SIG}`]);
    expect(tagKey('other/repo', SIG)).toBe(SIG);
  });

  it('keeps a bare tag bare, and finds no tag in a digest reference', () => {
    expect(tagKeysOfRefName('v1')).toEqual(['v1']);
    expect(tagKeysOfRefName(SIG)).toEqual([SIG]);
    expect(tagKeysOfRefName(`registry.example.com/shop/web@sha256:${'b'.repeat(64)}`)).toEqual([]);
    expect(tagKeysOfRefName('registry.example.com:5000/shop/web')).toEqual([]);
  });
});
