/**
 * Storage middleware for any Stowage driver, registered by name on import so that
 * `applyMiddleware(driver, config.middleware.storage)` from `@stowage/core` builds them from a
 * distribution-style config.yml.
 */
import { registerMiddleware } from '@stowage/core';
import { chaosFromConfig } from './chaos';
import { cloudfrontFromConfig } from './cloudfront';
import { instrumentFromConfig } from './instrument';
import { regulatorFromConfig } from './regulator';
import { retryFromConfig } from './retry';
import { rewriteFromConfig } from './rewrite';

export { RegulatorMiddleware, regulatorFromConfig, type RegulatorOptions } from './regulator';
export { RetryMiddleware, retryFromConfig, type RetryOptions, type RetryEvent } from './retry';
export { InstrumentMiddleware, instrumentFromConfig, type InstrumentOptions, type OperationEvent, type Outcome } from './instrument';
export { CloudFrontMiddleware, cloudfrontFromConfig, type CloudFrontOptions, type CloudFrontRedirectOptions } from './cloudfront';
export { RewriteMiddleware, rewriteFromConfig, type RewriteOptions } from './rewrite';
export { ChaosMiddleware, chaosFromConfig, type ChaosOptions, type ChaosOperation } from './chaos';
export { ForwardingWriter, type WriterEnd } from './writer';

registerMiddleware('regulator', regulatorFromConfig);
registerMiddleware('retry', retryFromConfig);
registerMiddleware('instrument', instrumentFromConfig);
registerMiddleware('cloudfront', cloudfrontFromConfig);
registerMiddleware('rewrite', rewriteFromConfig);
registerMiddleware('chaos', chaosFromConfig);
