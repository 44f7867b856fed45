//! Datasets hosted on HoneyHive, fetched over the API (`GET /v1/datasets`, then
//! `GET /v1/datapoints/{id}` for each datapoint).

use serde_json::Value;
use tokio::task::JoinSet;

use super::{Datapoint, Dataset};
use crate::api::client::ApiClient;
use crate::{Config, Error};

/// Datapoints fetched at once at most: enough to hide the latency of one request per
/// datapoint, few enough not to run into the API's rate limits.
const CONCURRENT_FETCHES: usize = 8;

impl Dataset {
    /// Fetches the dataset hosted on HoneyHive under `id` (the id shown on the project's
    /// Datasets page), configured from the environment as [`Config::from_env`] is
    /// (`HH_API_KEY`, `HH_API_URL`).
    ///
    /// The dataset's [`id`](Dataset::id) is the managed id (no `EXT-` prefix), each
    /// datapoint's [`id`](Datapoint::id) its HoneyHive id, and the datapoints keep the
    /// dataset's order. Must be awaited inside a Tokio runtime.
    ///
    /// # Errors
    /// [`Error::Config`] without the project key (hosted datasets need `HH_API_KEY`; use a local
    /// file with [`Dataset::load`] otherwise) or outside a Tokio runtime; [`Error::Api`] when
    /// the dataset does not exist or a request fails after its retries;
    /// [`Error::UnexpectedResponse`] when an answer cannot be read.
    ///
    /// # Example
    /// ```no_run
    /// use honeyhive::dataset::Dataset;
    ///
    /// # async fn example() -> Result<(), honeyhive::Error> {
    /// // With HH_API_KEY set:
    /// let dataset = Dataset::hosted("663a1f2e9c0d4b0012345678").await?;
    /// assert_eq!(dataset.id(), "663a1f2e9c0d4b0012345678");
    /// for datapoint in dataset.datapoints() {
    ///     println!("{} {}", datapoint.id(), datapoint.inputs());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn hosted(id: impl Into<String>) -> Result<Dataset, Error> {
        let id = id.into();
        let config = Config::from_env()?;
        Dataset::hosted_with(id, &config).await
    }

    /// [`Dataset::hosted`] with an explicit configuration.
    ///
    /// # Errors
    /// As [`Dataset::hosted`].
    ///
    /// # Example
    /// ```no_run
    /// use honeyhive::Config;
    /// use honeyhive::dataset::Dataset;
    ///
    /// # async fn example() -> Result<(), honeyhive::Error> {
    /// let config = Config::builder().api_key("hh-key").project("support-bot").build()?;
    /// let dataset = Dataset::hosted_with("663a1f2e9c0d4b0012345678", &config).await?;
    /// println!("{} datapoints", dataset.len());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn hosted_with(id: impl Into<String>, config: &Config) -> Result<Dataset, Error> {
        let id = id.into();
        Dataset::check_hosted(&id, config)?;
        Dataset::fetch_hosted(ApiClient::for_config(config)?, id).await
    }

    /// What [`Dataset::hosted_with`] needs before it sends anything: an API key, an id, a
    /// Tokio runtime.
    pub(crate) fn check_hosted(id: &str, config: &Config) -> Result<(), Error> {
        if !config.is_connected() {
            return Err(Error::Config(format!(
                "hosted dataset {id:?} cannot be fetched: hosted datasets need HH_API_KEY (and \
                 HH_PROJECT) to be set; without an API key, load a local file with \
                 Dataset::load instead"
            )));
        }
        if id.trim().is_empty() {
            return Err(Error::Config(
                "the hosted dataset id is empty: use the id shown on the project's Datasets page"
                    .into(),
            ));
        }
        // The datapoint requests run as tasks of the caller's runtime; without one, spawning
        // would panic.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Config(format!(
                "hosted dataset {id:?}: Dataset::hosted must be awaited inside a Tokio runtime"
            )));
        }
        Ok(())
    }

    /// The hosted dataset `id`, fetched with `client`; the datapoint requests are tasks of
    /// the current runtime (the one `client`'s connections belong to).
    pub(crate) async fn fetch_hosted(client: ApiClient, id: String) -> Result<Dataset, Error> {
        let info = client.dataset(&id).await?;
        let values = fetch_datapoints(&client, &info.datapoints).await?;
        let mut datapoints = Vec::with_capacity(values.len());
        for (value, datapoint_id) in values.into_iter().zip(info.datapoints) {
            let datapoint = Datapoint::hosted(value, datapoint_id.clone()).map_err(|e| {
                Error::UnexpectedResponse {
                    path: format!("/v1/datapoints/{datapoint_id}"),
                    reason: e.to_string(),
                }
            })?;
            datapoints.push(datapoint);
        }
        Ok(Dataset {
            id: info.id,
            ..Dataset::from_datapoints(datapoints)
        })
    }
}

/// `GET /v1/datapoints/{id}` for every id, [`CONCURRENT_FETCHES`] at a time; the answers come
/// back in the order of `ids` whatever order they arrive in. The first failure ends the fetch
/// (dropping the set cancels the requests still running).
async fn fetch_datapoints(client: &ApiClient, ids: &[String]) -> Result<Vec<Value>, Error> {
    let mut fetched: Vec<Option<Value>> = vec![None; ids.len()];
    let mut pending = ids.iter().cloned().enumerate();
    let mut tasks = JoinSet::new();
    loop {
        while tasks.len() < CONCURRENT_FETCHES {
            let Some((index, id)) = pending.next() else {
                break;
            };
            let client = client.clone();
            tasks.spawn(async move { (index, client.datapoint(&id).await) });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let (index, answer) =
            joined.map_err(|e| Error::Background(format!("fetching a hosted datapoint: {e}")))?;
        fetched[index] = Some(answer?);
    }
    // Every index was spawned and joined above, so every slot is filled.
    Ok(fetched.into_iter().flatten().collect())
}

#[cfg(all(test, feature = "testing"))]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::Environment;
    use crate::testing::{Fault, Route, TestServer};

    fn config(server: &TestServer) -> Config {
        crate::testing::fast_retry_config(&server.url())
    }

    fn datapoints(n: usize) -> Vec<Value> {
        (0..n)
            .map(|i| {
                json!({
                    "id": format!("dp-{i:02}"),
                    "inputs": {"question": format!("q{i}")},
                    "ground_truth": {"answer": i},
                    "metadata": {"source": "hosted"},
                })
            })
            .collect()
    }

    #[tokio::test]
    async fn hosted_dataset_keeps_ids_order_and_contents() {
        let server = TestServer::builder().api_key("k").start();
        // More datapoints than fetched at once, and the first answers delayed, so answers
        // arrive out of order and the order must come from the dataset.
        let fixtures = datapoints(CONCURRENT_FETCHES * 2 + 3);
        server.add_dataset("663a1f2e", "Questions", fixtures.clone());
        server.inject(Route::Datasets, Fault::status(500));
        server.inject(Route::Datasets, Fault::delay(Duration::ZERO));
        server.inject(
            Route::Datasets,
            Fault::delay(Duration::from_millis(100)).times(2),
        );
        let dataset = Dataset::hosted_with("663a1f2e", &config(&server))
            .await
            .unwrap();

        assert_eq!(dataset.id(), "663a1f2e");
        assert_eq!(dataset.len(), fixtures.len());
        for (index, (datapoint, fixture)) in dataset.datapoints().iter().zip(&fixtures).enumerate()
        {
            assert_eq!(datapoint.id(), fixture["id"]);
            assert_eq!(datapoint.index(), index);
            assert_eq!(datapoint.inputs(), &fixture["inputs"]);
            assert_eq!(datapoint.ground_truth(), Some(&fixture["ground_truth"]));
            assert_eq!(datapoint.metadata(), Some(&fixture["metadata"]));
        }
        assert!(dataset.validate().is_ok());
        // The injected 500 hit the dataset listing, which was retried.
        let listings = server.requests_to("/v1/datasets");
        assert_eq!(
            listings
                .iter()
                .map(|r| r.response_status)
                .collect::<Vec<_>>(),
            [500, 200]
        );
        assert_eq!(listings[1].query.as_deref(), Some("dataset_id=663a1f2e"));
        assert_eq!(
            server
                .requests()
                .iter()
                .filter(|r| r.path.starts_with("/v1/datapoints/"))
                .count(),
            fixtures.len()
        );
    }

    #[tokio::test]
    async fn hosted_ids_survive_reordering_into_a_new_dataset() {
        let server = TestServer::start();
        server.add_dataset("ds", "Two", datapoints(2));
        let dataset = Dataset::hosted_with("ds", &config(&server)).await.unwrap();
        let mut reversed = dataset.datapoints().to_vec();
        reversed.reverse();
        let rebuilt = Dataset::from_datapoints(reversed);
        assert_eq!(rebuilt.datapoints()[0].id(), "dp-01");
        assert_eq!(rebuilt.datapoints()[0].index(), 0);
    }

    #[tokio::test]
    async fn empty_hosted_dataset() {
        let server = TestServer::start();
        server.add_dataset("empty", "Empty", Vec::new());
        let dataset = Dataset::hosted_with("empty", &config(&server))
            .await
            .unwrap();
        assert!(dataset.is_empty());
        assert_eq!(dataset.id(), "empty");
    }

    #[tokio::test]
    async fn a_missing_dataset_is_a_clear_error() {
        let server = TestServer::start();
        let error = Dataset::hosted_with("nope", &config(&server))
            .await
            .unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, Error::Api { .. }), "{error:?}");
        assert!(
            message.contains(r#"no hosted dataset with id "nope""#),
            "{message}"
        );
        assert!(message.contains("404"), "{message}");
        assert!(message.contains("Datasets page"), "{message}");
        // A 404 is final: no retries.
        assert_eq!(server.requests().len(), 1);
    }

    #[tokio::test]
    async fn a_failing_datapoint_fails_the_fetch() {
        let server = TestServer::start();
        server.add_dataset("ds", "Three", datapoints(3));
        // Listing succeeds, then every datapoint request fails beyond the retry budget.
        server.inject(Route::Datasets, Fault::delay(Duration::ZERO));
        server.inject(Route::Datasets, Fault::status(503).times(100));
        let error = Dataset::hosted_with("ds", &config(&server))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Api { path, .. } if path.starts_with("/v1/datapoints/")),
            "{error:?}"
        );
        assert!(error.to_string().contains("503"), "{error}");
    }

    #[tokio::test]
    async fn without_an_api_key_hosted_datasets_say_what_to_set() {
        let config = Config::builder()
            .environment(Environment::empty())
            .build()
            .unwrap();
        let error = Dataset::hosted_with("663a1f2e", &config).await.unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("HH_API_KEY"), "{message}");
        assert!(message.contains("Dataset::load"), "{message}");
    }

    #[test]
    fn outside_a_tokio_runtime_is_an_error_not_a_panic() {
        let server = TestServer::start();
        let error =
            futures_executor::block_on(Dataset::hosted_with("ds", &config(&server))).unwrap_err();
        assert!(error.to_string().contains("Tokio runtime"), "{error}");
        assert!(server.requests().is_empty());
    }
}
