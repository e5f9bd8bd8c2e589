"""Transfer: systems beside the pipeline — uploads to S3, local → S3 migration, Metabase exports."""
