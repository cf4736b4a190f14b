SELECT
  `t6`.`carrier`,
  AVG(2013 - `t6`.`year`) AS `avg_age`,
  COUNT(*) AS `n_planes`
FROM (
  SELECT
    *
  FROM (
    SELECT
      `t4`.`carrier`,
      `t4`.`tailnum`,
      `t2`.`year`,
      `t2`.`type`,
      `t2`.`manufacturer`,
      `t2`.`model`,
      `t2`.`engines`,
      `t2`.`seats`,
      `t2`.`speed`,
      `t2`.`engine`
    FROM (
      SELECT DISTINCT
        `t0`.`carrier`,
        `t0`.`tailnum`
      FROM `flights` AS `t0`
    ) AS `t4`
    INNER JOIN `planes` AS `t2`
      ON `t4`.`tailnum` = `t2`.`tailnum`
  ) AS `t5`
  WHERE
    `t5`.`year` IS NOT NULL
) AS `t6`
GROUP BY
  1
