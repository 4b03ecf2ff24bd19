# Herald's container image. Built on Debian 12 with the repository's own
# dependency script; shipped on debian:12-slim with the runtime libraries only,
# running as an unprivileged user. `docker build -t herald .`
FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh --build-only && rm -rf /var/lib/apt/lists/*
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DHERALD_BUILD_TESTS=OFF -DHERALD_BUILD_BENCH=OFF \
    && cmake --build build --target herald \
    && strip build/src/cli/herald

FROM debian:12-slim
# The libraries herald links (ldd), fonts for certificates in every script a
# class list may hold, CA certificates for TLS to providers, and curl for probes.
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
       libcurl4 libfmt9 libhttp-parser2.9 libpq5 librabbitmq4 librsvg2-2 libspdlog1.10 libsqlite3-0 libssl3 \
       libtomlplusplus3 ca-certificates curl fontconfig fonts-dejavu-core fonts-noto-core fonts-noto-cjk \
       fonts-droid-fallback fonts-nanum \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --home-dir /var/lib/herald --create-home --shell /usr/sbin/nologin herald
COPY --from=build /src/build/src/cli/herald /usr/local/bin/herald
COPY --from=build /src/examples /usr/share/herald/examples
USER herald
WORKDIR /var/lib/herald
EXPOSE 8080
ENTRYPOINT ["herald"]
CMD ["serve", "--listen", "0.0.0.0:8080", "--data-dir", "/var/lib/herald/data"]
