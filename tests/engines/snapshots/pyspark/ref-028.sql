SELECT
  *
FROM (
  SELECT
    `t1`.`decade`,
    COUNT(*) AS `n_planes`
  FROM (
    SELECT
      `t0`.`tailnum`,
      `t0`.`year`,
      `t0`.`type`,
      `t0`.`manufacturer`,
      `t0`.`model`,
      `t0`.`engines`,
      `t0`.`seats`,
      `t0`.`speed`,
      `t0`.`engine`,
      COALESCE(
        CAST(CAST(FLOOR((
          `t0`.`year`
        ) / (
          10
        )) AS BIGINT) * 10 AS STRING),
        'unknown'
      ) AS `decade`
    FROM `planes` AS `t0`
  ) AS `t1`
  GROUP BY
    1
) AS `t2`
ORDER BY
  `t2`.`decade` ASC NULLS LAST
